(* bench/peers/netmcore_ref.ml: the OCaml original's sref operations on the
   record bench/heap.c uses (an int and a 16-byte string), for bench/heap's
   peer figures.  Netmcore_ref must be used from a worker: the master starts
   one, which runs the three loops and prints, one line each,
     netmcore_ref_assign <ops/s>
     netmcore_ref_deref_c <ops/s>
     netmcore_ref_deref_p <ops/s>
   (the median of the rounds).  Usage: netmcore_ref SOCKET_DIR [n [rounds]] *)

type rec_t = { i : int; s : string }

let median a =
  let a = Array.copy a in
  Array.sort compare a;
  let n = Array.length a in
  if n mod 2 = 1 then a.(n / 2) else (a.(n / 2 - 1) +. a.(n / 2)) /. 2.

let body (pool, n, rounds) =
  let str = "0123456789abcdef" in
  let r = Netmcore_ref.sref pool { i = 1; s = str } in
  let a = Array.make rounds 0. and c = Array.make rounds 0.
  and p = Array.make rounds 0. in
  let sink = ref 0 in
  for k = 0 to rounds - 1 do
    let t0 = Unix.gettimeofday () in
    for i = 0 to n - 1 do
      Netmcore_ref.assign r { i; s = str }
    done;
    let t1 = Unix.gettimeofday () in
    for _ = 0 to n - 1 do
      let v = Netmcore_ref.deref_c r in
      sink := !sink + v.i
    done;
    let t2 = Unix.gettimeofday () in
    for _ = 0 to n - 1 do
      sink := !sink + Netmcore_ref.deref_p r (fun v -> v.i)
    done;
    let t3 = Unix.gettimeofday () in
    let f = float_of_int n in
    a.(k) <- f /. (t1 -. t0);
    c.(k) <- f /. (t2 -. t1);
    p.(k) <- f /. (t3 -. t2)
  done;
  Printf.printf "netmcore_ref_assign %.0f\nnetmcore_ref_deref_c %.0f\n\
                 netmcore_ref_deref_p %.0f\n%!"
    (median a) (median c) (median p);
  if !sink = 42 then print_endline "#";
  Netmcore_heap.destroy (Netmcore_ref.heap r)

let fork_point, join_point = Netmcore_process.def_process body

let () =
  let argc = Array.length Sys.argv in
  if argc < 2 then (
    prerr_endline "usage: netmcore_ref SOCKET_DIR [n [rounds]]";
    exit 2);
  let n = if argc > 2 then int_of_string Sys.argv.(2) else 200000 in
  let rounds = if argc > 3 then int_of_string Sys.argv.(3) else 7 in
  let pool = Netmcore_mempool.create_mempool (64 * 1024 * 1024) in
  Netmcore_process.release_join_point join_point;
  Netmcore.startup ~socket_directory:Sys.argv.(1)
    ~first_process:(fun () ->
      Netmcore_process.start ~inherit_resources:`All fork_point
        (pool, n, rounds))
    ();
  Netmcore.release pool

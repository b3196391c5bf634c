/* idl/parser.y: the mcidl grammar (pure bison parser with locations).
 *
 * The grammar is written down in EBNF in idl/mcidl.md; keep the two in
 * step.  The parser builds the AST of idl/ast.h and checks nothing beyond
 * syntax: names, ranges and everything else are compiler/check.c's.
 * Syntax errors are reported with what was found and what was expected;
 * the `error` rules skip to the next ';' or '}' so that one run reports
 * several of them.
 */
%define api.pure full
%locations
%define parse.error custom
%param {void *scanner}
%parse-param {idl_ctx *ctx}
%header

%code requires {
#include "idl.h"
}

%code {
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* Deep nesting ([[[[...]]]]) ends in a syntax error, not a deep stack in
 * the later stages either. */
#define YYMAXDEPTH 2000

int yylex(YYSTYPE *lvalp, YYLTYPE *llocp, void *scanner);
static void yyerror(YYLTYPE *loc, void *scanner, idl_ctx *ctx, const char *msg);

#define LOC(l) (ast_loc){ ctx->file, (l).first_line, (l).first_column }

static ast_field *rev_fields(ast_field *f)
{
    ast_field *r = NULL;
    while (f) {
        ast_field *next = f->next;
        f->next = r;
        r = f;
        f = next;
    }
    return r;
}

static ast_member *rev_members(ast_member *m)
{
    ast_member *r = NULL;
    while (m) {
        ast_member *next = m->next;
        m->next = r;
        r = m;
        m = next;
    }
    return r;
}

static ast_attr *rev_attrs(ast_attr *a)
{
    ast_attr *r = NULL;
    while (a) {
        ast_attr *next = a->next;
        a->next = r;
        r = a;
        a = next;
    }
    return r;
}

static char *join(char *a, const char *b)
{
    char *p = ast_concat(a, ".", b);
    free(a);
    return p;
}

static ast_value *int_value(idl_ctx *ctx, YYLTYPE l, bool neg, uint64_t mag)
{
    ast_value *v = ast_value_new(LOC(l));
    v->lit.neg = neg && mag != 0;
    v->lit.mag = mag;
    if (neg && mag > (uint64_t)1 << 63) {
        ctx->errors++;
        diag_error(LOC(l), "integer literal below -2^63");
    }
    return v;
}

/* A type constructor around elem ([T], ?T, T[N]); past AST_MAX_DEPTH
 * levels, an error (once) and elem itself, so that no later stage sees a
 * deeper type, however many suffixes follow. */
static ast_type *nest(idl_ctx *ctx, YYLTYPE l, ast_type_kind k, ast_loc at,
                      ast_type *elem, ast_value *count)
{
    if (elem->depth >= AST_MAX_DEPTH) {
        if (elem->depth == AST_MAX_DEPTH) {
            ctx->errors++;
            diag_error(LOC(l), "type nested more than %d levels deep",
                       AST_MAX_DEPTH);
            elem->depth++;
        }
        ast_value_free(count);
        return elem;
    }
    ast_type *t = ast_type_new(k, at);
    t->elem = elem;
    t->count = count;
    t->depth = elem->depth + 1;
    return t;
}

static ast_decl *container(idl_ctx *ctx, YYLTYPE l, ast_container_kind k,
                           char *name, YYLTYPE nl, ast_type *t,
                           ast_type *t2, ast_attr *attrs)
{
    ast_decl *d = ast_decl_new(AST_D_CONTAINER, LOC(l));
    d->ckind = k;
    d->name = name;
    d->name_loc = LOC(nl);
    d->type = t;
    d->type2 = t2;
    d->attrs = rev_attrs(attrs);
    return d;
}
}

%union {
    char *str;
    uint64_t num;
    ast_scalar scalar;
    ast_container_kind ckind;
    ast_type *type;
    ast_value *value;
    ast_field *field;
    ast_member *member;
    ast_attr *attr;
    ast_decl *decl;
}

%token <str> IDENT "identifier"
%token <str> STRING "string literal"
%token <str> DOC "doc comment"
%token <num> INT "integer"
%token <scalar> SCALAR "scalar type"
%token KW_MODULE "'module'" KW_IMPORT "'import'" KW_AS "'as'"
%token KW_CONST "'const'" KW_ENUM "'enum'" KW_RECORD "'record'"
%token KW_VARIANT "'variant'" KW_PROCESS "'process'"
%token KW_SREF "'sref'" KW_SARRAY "'sarray'" KW_SMATRIX "'smatrix'"
%token KW_SBUFFER "'sbuffer'" KW_SQUEUE "'squeue'"
%token KW_SHASHTBL "'shashtbl'" KW_CAMLBOX "'camlbox'"
%token KW_STRING "'string'" KW_BYTES "'bytes'"
%token KW_MUTEX "'mutex'" KW_SEMAPHORE "'semaphore'"
%token KW_CONDITION "'condition'"
%token ARROW "'->'"

%type <str> docs qname
%type <type> type elem ftype sync result
%type <value> value
%type <field> fields field cases case args arg_list arg
%type <member> members member_list member
%type <attr> attrs attr_list attr
%type <decl> decl_body
%type <ckind> ckw

%destructor { free($$); } <str>
%destructor { ast_type_free($$); } <type>
%destructor { ast_value_free($$); } <value>
%destructor { ast_fields_free($$); } <field>
%destructor { ast_members_free($$); } <member>
%destructor { ast_attrs_free($$); } <attr>
%destructor { ast_decls_free($$); } <decl>

%%

file
    : docs KW_MODULE qname ';' items
        {
            ctx->module->doc = $1;
            ctx->module->name = $3;
            ctx->module->loc = LOC(@2);
        }
    ;

qname
    : IDENT                 { $$ = $1; }
    | qname '.' IDENT       { $$ = join($1, $3); free($3); }
    ;

items
    : %empty
    | items item
    ;

item
    : docs KW_IMPORT STRING ';'
        {
            free($1);
            ast_import *i = ast_import_new(LOC(@2), $3);
            *ctx->import_tail = i;
            ctx->import_tail = &i->next;
        }
    | docs KW_IMPORT STRING KW_AS IDENT ';'
        {
            free($1);
            ast_import *i = ast_import_new(LOC(@2), $3);
            i->alias = $5;
            i->alias_loc = LOC(@5);
            *ctx->import_tail = i;
            ctx->import_tail = &i->next;
        }
    | docs decl_body
        {
            $2->doc = $1;
            *ctx->decl_tail = $2;
            ctx->decl_tail = &$2->next;
        }
    | ';'
    | error ';'
    | error '}'
    ;

docs
    : %empty                { $$ = NULL; }
    | docs DOC
        {
            $$ = $1;
            ast_doc_append(&$$, $2, strlen($2));
            free($2);
        }
    ;

decl_body
    : KW_CONST IDENT '=' value ';'
        {
            $$ = ast_decl_new(AST_D_CONST, LOC(@1));
            $$->name = $2;
            $$->name_loc = LOC(@2);
            $$->value = $4;
        }
    | KW_ENUM IDENT '{' members '}'
        {
            $$ = ast_decl_new(AST_D_ENUM, LOC(@1));
            $$->name = $2;
            $$->name_loc = LOC(@2);
            $$->members = rev_members($4);
        }
    | KW_ENUM IDENT ':' type '{' members '}'
        {
            $$ = ast_decl_new(AST_D_ENUM, LOC(@1));
            $$->name = $2;
            $$->name_loc = LOC(@2);
            $$->base = $4;
            $$->members = rev_members($6);
        }
    | KW_RECORD IDENT '{' fields '}'
        {
            $$ = ast_decl_new(AST_D_RECORD, LOC(@1));
            $$->name = $2;
            $$->name_loc = LOC(@2);
            $$->fields = rev_fields($4);
        }
    | KW_VARIANT IDENT '{' cases '}'
        {
            $$ = ast_decl_new(AST_D_VARIANT, LOC(@1));
            $$->name = $2;
            $$->name_loc = LOC(@2);
            $$->fields = rev_fields($4);
        }
    | ckw IDENT ':' type attrs ';'
        { $$ = container(ctx, @1, $1, $2, @2, $4, NULL, $5); }
    | KW_SBUFFER IDENT attrs ';'
        { $$ = container(ctx, @1, AST_C_SBUFFER, $2, @2, NULL, NULL, $3); }
    | KW_SHASHTBL IDENT ':' type ARROW type attrs ';'
        { $$ = container(ctx, @1, AST_C_SHASHTBL, $2, @2, $4, $6, $7); }
    | KW_PROCESS IDENT '(' args ')' result ';'
        {
            $$ = ast_decl_new(AST_D_PROCESS, LOC(@1));
            $$->name = $2;
            $$->name_loc = LOC(@2);
            $$->fields = rev_fields($4);
            $$->type = $6;
        }
    ;

ckw
    : KW_SREF               { $$ = AST_C_SREF; }
    | KW_SARRAY             { $$ = AST_C_SARRAY; }
    | KW_SMATRIX            { $$ = AST_C_SMATRIX; }
    | KW_SQUEUE             { $$ = AST_C_SQUEUE; }
    | KW_CAMLBOX            { $$ = AST_C_CAMLBOX; }
    ;

/* enum members: comma-separated, an optional trailing comma */
members
    : %empty                { $$ = NULL; }
    | member_list           { $$ = $1; }
    | member_list ','       { $$ = $1; }
    ;

member_list
    : member                { $$ = $1; }
    | member_list ',' member { $$ = $3; $3->next = $1; }
    ;

member
    : docs IDENT
        { $$ = ast_member_new(LOC(@2), $2, NULL); $$->doc = $1; }
    | docs IDENT '=' value
        { $$ = ast_member_new(LOC(@2), $2, $4); $$->doc = $1; }
    ;

/* lists built in reverse, reversed by the declaration */
fields
    : %empty                { $$ = NULL; }
    | fields field          { $$ = $2; if ($2) $2->next = $1; else $$ = $1; }
    ;

field
    : docs IDENT ':' ftype ';'
        { $$ = ast_field_new(LOC(@2), $2, $4); $$->doc = $1; }
    | error ';'             { $$ = NULL; }
    ;

cases
    : %empty                { $$ = NULL; }
    | cases case            { $$ = $2; if ($2) $2->next = $1; else $$ = $1; }
    ;

case
    : docs IDENT ';'
        { $$ = ast_field_new(LOC(@2), $2, NULL); $$->doc = $1; }
    | docs IDENT ':' type ';'
        { $$ = ast_field_new(LOC(@2), $2, $4); $$->doc = $1; }
    | error ';'             { $$ = NULL; }
    ;

args
    : %empty                { $$ = NULL; }
    | arg_list              { $$ = $1; }
    ;

arg_list
    : arg                   { $$ = $1; }
    | arg_list ',' arg      { $$ = $3; $3->next = $1; }
    ;

arg
    : IDENT ':' type        { $$ = ast_field_new(LOC(@1), $1, $3); }
    ;

result
    : %empty                { $$ = NULL; }
    | ARROW type            { $$ = $2; }
    ;

attrs
    : %empty                { $$ = NULL; }
    | '(' attr_list ')'     { $$ = $2; }
    ;

attr_list
    : attr                  { $$ = $1; }
    | attr_list ',' attr    { $$ = $3; $3->next = $1; }
    ;

attr
    : IDENT '=' type
        { $$ = ast_attr_new(LOC(@1), $1); $$->type = $3; }
    | IDENT '=' INT
        {
            $$ = ast_attr_new(LOC(@1), $1);
            $$->value = int_value(ctx, @3, false, $3);
        }
    | IDENT '=' '-' INT
        {
            $$ = ast_attr_new(LOC(@1), $1);
            $$->value = int_value(ctx, @3, true, $4);
            $$->value->loc = LOC(@3);
        }
    ;

value
    : INT                   { $$ = int_value(ctx, @1, false, $1); }
    | '-' INT               { $$ = int_value(ctx, @1, true, $2); }
    | qname                 { $$ = ast_value_new(LOC(@1)); $$->name = $1; }
    ;

/* field types: a type, or a sync type (only allowed here) */
ftype
    : type                  { $$ = $1; }
    | sync                  { $$ = $1; }
    ;

sync
    : KW_MUTEX              { $$ = ast_type_new(AST_T_MUTEX, LOC(@1)); }
    | KW_MUTEX '(' IDENT ')'
        {
            $$ = ast_type_new(AST_T_MUTEX, LOC(@1));
            $$->name = $3;
            $$->name_loc = LOC(@3);
        }
    | KW_SEMAPHORE          { $$ = ast_type_new(AST_T_SEMAPHORE, LOC(@1)); }
    | KW_SEMAPHORE '(' value ')'
        {
            $$ = ast_type_new(AST_T_SEMAPHORE, LOC(@1));
            $$->count = $3;
        }
    | KW_CONDITION '(' IDENT ')'
        {
            $$ = ast_type_new(AST_T_CONDITION, LOC(@1));
            $$->name = $3;
            $$->name_loc = LOC(@3);
        }
    ;

/* A suffix [N] makes a fixed array of everything before it; ? and & bind
 * tighter: ?f32[4] is four optional f32, &T[2] two references. */
type
    : elem                  { $$ = $1; }
    | type '[' value ']'
        { $$ = nest(ctx, @2, AST_T_FIXED, $1->loc, $1, $3); }
    ;

elem
    : SCALAR
        { $$ = ast_type_new(AST_T_SCALAR, LOC(@1)); $$->scalar = $1; }
    | KW_STRING             { $$ = ast_type_new(AST_T_STRING, LOC(@1)); }
    | KW_BYTES              { $$ = ast_type_new(AST_T_BYTES, LOC(@1)); }
    | qname
        {
            $$ = ast_type_new(AST_T_NAMED, LOC(@1));
            $$->name = $1;
            $$->name_loc = LOC(@1);
        }
    | '&' qname
        {
            $$ = ast_type_new(AST_T_REF, LOC(@1));
            $$->name = $2;
            $$->name_loc = LOC(@2);
        }
    | '?' elem
        {
            if ($2->kind == AST_T_REF) {
                /* ?&T: a nullable reference */
                $$ = $2;
                $$->kind = AST_T_NREF;
                $$->loc = LOC(@1);
            } else {
                $$ = nest(ctx, @1, AST_T_OPTIONAL, LOC(@1), $2, NULL);
            }
        }
    | '[' type ']'
        { $$ = nest(ctx, @1, AST_T_ARRAY, LOC(@1), $2, NULL); }
    ;

%%

/* "'record'" -> 'record', "identifier" -> identifier */
static void symname(char *out, size_t n, yysymbol_kind_t k)
{
    const char *s = yysymbol_name(k);
    size_t len = strlen(s);
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    if (len >= n)
        len = n - 1;
    memcpy(out, s, len);
    out[len] = 0;
}

static int yyreport_syntax_error(const yypcontext_t *yyctx, void *scanner,
                                 idl_ctx *ctx)
{
    (void)scanner;
    enum { MAX = 5 };
    yysymbol_kind_t expected[MAX];
    char msg[512], name[64];
    int n = yypcontext_expected_tokens(yyctx, expected, MAX);
    yysymbol_kind_t got = yypcontext_token(yyctx);
    size_t len = 0;

    symname(name, sizeof name, got);
    len += (size_t)snprintf(msg + len, sizeof msg - len, "unexpected %s", name);
    if (got == YYSYMBOL_IDENT || got == YYSYMBOL_INT || got == YYSYMBOL_SCALAR)
        len += (size_t)snprintf(msg + len, sizeof msg - len, " '%s'", ctx->last);
    if (n > 0) {
        for (int i = 0; i < n && len < sizeof msg; i++) {
            symname(name, sizeof name, expected[i]);
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s",
                                    i == 0 ? ", expecting " : " or ", name);
        }
    }
    ctx->errors++;
    diag_error(LOC(*yypcontext_location(yyctx)), "%s", msg);
    return 0;
}

static void yyerror(YYLTYPE *loc, void *scanner, idl_ctx *ctx, const char *msg)
{
    (void)scanner;
    ctx->errors++;
    if (strcmp(msg, "memory exhausted") == 0)
        msg = "input nested too deeply";
    diag_error(LOC(*loc), "%s", msg);
}

/* from lexer.c (its header is not generated) */
typedef void *yyscan_t;
int yylex_init_extra(idl_ctx *extra, yyscan_t *scanner);
int yylex_destroy(yyscan_t scanner);
typedef struct yy_buffer_state *YY_BUFFER_STATE;
YY_BUFFER_STATE yy_scan_bytes(const char *bytes, int len, yyscan_t scanner);

ast_module *idl_parse(const char *file, const char *text, size_t len,
                      int *syntax_errors)
{
    idl_ctx ctx;
    yyscan_t scanner;

    memset(&ctx, 0, sizeof ctx);
    ctx.file = file;
    ctx.module = ast_module_new(file);
    ctx.line = 1;
    ctx.col = 1;
    ctx.decl_tail = &ctx.module->decls;
    ctx.import_tail = &ctx.module->imports;
    if (len > (size_t)1 << 30) {
        ast_loc loc = { file, 1, 1 };
        diag_error(loc, "file too large (more than 1 GiB)");
        *syntax_errors = 1;
        return ctx.module;
    }
    if (yylex_init_extra(&ctx, &scanner)) {
        fputs("mcidl: out of memory\n", stderr);
        exit(1);
    }
    yy_scan_bytes(text, (int)len, scanner);
    yyparse(scanner, &ctx);
    yylex_destroy(scanner);
    *syntax_errors = ctx.errors;
    return ctx.module;
}

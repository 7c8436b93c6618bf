/*
 * goal_parse.c - recursive-descent parser of the goal-state language (grammar in goal.h), and its canonical form.
 *
 *   script    = { statement } EOF
 *   statement = ( "set" key "=" value
 *               | "unset" key
 *               | "expect" key ( "==" value | "!=" value | "absent" )
 *               | "show"
 *               | "failover" ) ( NEWLINE | EOF )
 *             | NEWLINE
 *   key       = part { "." part }          part  = word, or a keyword used as a word
 *   value     = number | word | string
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "goal.h"

#define MAX_REPORTED 20

typedef struct parser {
    goal_lexer_t lexer;
    goal_token_t tok;
    const char *name;
    FILE *errors;
    unsigned error_count;
} parser_t;

static void advance(parser_t *p)
{
    p->tok = goal_lex(&p->lexer);
}

static void report(parser_t *p, unsigned line, unsigned column, const char *format, ...)
{
    if (p->error_count++ >= MAX_REPORTED)
        return;
    va_list args;
    va_start(args, format);
    fprintf(p->errors, "%s:%u:%u: error: ", p->name, line, column);
    vfprintf(p->errors, format, args);
    fputc('\n', p->errors);
    va_end(args);
}

/* "expected X, found Y", where Y quotes the token's text when it has any worth showing. */
static void unexpected(parser_t *p, const char *expected)
{
    const goal_token_t *t = &p->tok;
    if (t->kind == TOK_ERROR && t->length == 1 && t->text[0] > ' ' && t->text[0] < 0x7f && t->text[0] != '"') {
        report(p, t->line, t->column, "%s `%c`", t->error, t->text[0]);
    } else if (t->kind == TOK_ERROR) {
        report(p, t->line, t->column, "%s", t->error);
    } else if (t->kind == TOK_WORD || t->kind == TOK_NUMBER || t->kind == TOK_STRING) {
        int shown = t->length > 24 ? 24 : (int)t->length;
        report(p, t->line, t->column, "expected %s, found %s `%.*s%s`", expected, goal_token_name(t->kind), shown,
               t->text, t->length > 24 ? "..." : "");
    } else {
        report(p, t->line, t->column, "expected %s, found %s", expected, goal_token_name(t->kind));
    }
}

static bool is_word(goal_token_kind_t kind)
{
    return kind == TOK_WORD || (kind >= TOK_SET && kind <= TOK_FAILOVER);
}

static bool parse_key(parser_t *p, char key[GOAL_KEY_MAX])
{
    goal_token_t first = p->tok;
    size_t length = 0;
    for (;;) {
        if (!is_word(p->tok.kind)) {
            unexpected(p, length == 0 ? "a key (words joined by dots)" : "a word after '.'");
            return false;
        }
        if (length + p->tok.length + 1 >= GOAL_KEY_MAX) {
            report(p, first.line, first.column, "key is longer than %d bytes", GOAL_KEY_MAX - 1);
            return false;
        }
        memcpy(key + length, p->tok.text, p->tok.length);
        length += p->tok.length;
        key[length] = '\0';
        advance(p);
        if (p->tok.kind != TOK_DOT)
            return true;
        key[length++] = '.';
        advance(p);
    }
}

/* Decode a string token's escapes into `out`. */
static bool decode_string(parser_t *p, const goal_token_t *t, char out[GOAL_VALUE_MAX])
{
    size_t n = 0;
    for (size_t i = 1; i + 1 < t->length; i++) {
        char c = t->text[i];
        if (c == '\\') {
            c = t->text[++i];
            switch (c) {
            case '"': case '\\': break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            default:
                report(p, t->line, t->column + (unsigned)i - 1, "unknown escape `\\%c` in string", c);
                return false;
            }
        }
        if (n + 1 >= GOAL_VALUE_MAX) {
            report(p, t->line, t->column, "value is longer than %d bytes", GOAL_VALUE_MAX - 1);
            return false;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

static bool parse_value(parser_t *p, goal_value_t *v)
{
    const goal_token_t t = p->tok;
    if (t.kind == TOK_STRING) {
        v->kind = GOAL_STRING;
        if (!decode_string(p, &t, v->text))
            return false;
    } else if (t.kind == TOK_NUMBER || is_word(t.kind)) {
        v->kind = t.kind == TOK_NUMBER ? GOAL_NUMBER : GOAL_WORD;
        if (t.length >= GOAL_VALUE_MAX) {
            report(p, t.line, t.column, "value is longer than %d bytes", GOAL_VALUE_MAX - 1);
            return false;
        }
        memcpy(v->text, t.text, t.length);
        v->text[t.length] = '\0';
    } else {
        unexpected(p, "a value (a number, a word or a string)");
        return false;
    }
    advance(p);
    return true;
}

static bool parse_expect(parser_t *p, goal_command_t *c)
{
    if (!parse_key(p, c->key))
        return false;
    goal_token_kind_t op = p->tok.kind;
    if (op == TOK_ABSENT) {
        c->op = GOAL_EXPECT_ABSENT;
        advance(p);
        return true;
    }
    if (op != TOK_EQ && op != TOK_NE) {
        unexpected(p, "'==', '!=' or 'absent' after the key");
        return false;
    }
    c->op = op == TOK_EQ ? GOAL_EXPECT_EQ : GOAL_EXPECT_NE;
    advance(p);
    return parse_value(p, &c->value);
}

/* One statement, without its end of line. */
static bool parse_statement(parser_t *p, goal_command_t *c)
{
    goal_token_kind_t kind = p->tok.kind;
    c->line = p->tok.line;
    switch (kind) {
    case TOK_SET:
        c->op = GOAL_SET;
        advance(p);
        if (!parse_key(p, c->key))
            return false;
        if (p->tok.kind != TOK_ASSIGN) {
            unexpected(p, "'=' after the key");
            return false;
        }
        advance(p);
        return parse_value(p, &c->value);
    case TOK_UNSET:
        c->op = GOAL_UNSET;
        advance(p);
        return parse_key(p, c->key);
    case TOK_EXPECT:
        advance(p);
        return parse_expect(p, c);
    case TOK_SHOW:
    case TOK_FAILOVER:
        c->op = kind == TOK_SHOW ? GOAL_SHOW : GOAL_FAILOVER;
        advance(p);
        return true;
    default:
        unexpected(p, "a statement (set, unset, expect, show or failover)");
        return false;
    }
}

static bool append(goal_script_t *script, const goal_command_t *c)
{
    if (script->count == script->capacity) {
        size_t capacity = script->capacity ? 2 * script->capacity : 16;
        goal_command_t *grown = realloc(script->commands, capacity * sizeof *grown);
        if (grown == NULL)
            return false;
        script->commands = grown;
        script->capacity = capacity;
    }
    script->commands[script->count++] = *c;
    return true;
}

unsigned goal_parse(const char *name, const char *text, size_t length, goal_script_t *script, FILE *errors)
{
    parser_t p = {.name = name, .errors = errors};
    goal_lexer_init(&p.lexer, text, length);
    advance(&p);
    while (p.tok.kind != TOK_EOF) {
        if (p.tok.kind == TOK_NEWLINE) {
            advance(&p);
            continue;
        }
        goal_command_t c = {0};
        bool ok = parse_statement(&p, &c);
        if (ok && p.tok.kind != TOK_NEWLINE && p.tok.kind != TOK_EOF) {
            unexpected(&p, "the end of the line");
            ok = false;
        }
        if (ok && !append(script, &c)) {
            report(&p, c.line, 1, "out of memory");
            break;
        }
        while (p.tok.kind != TOK_NEWLINE && p.tok.kind != TOK_EOF) /* after an error, resume on the next line */
            advance(&p);
    }
    if (p.error_count > MAX_REPORTED)
        fprintf(errors, "%s: %u more errors not shown\n", name, p.error_count - MAX_REPORTED);
    return p.error_count;
}

void goal_script_free(goal_script_t *script)
{
    free(script->commands);
    *script = (goal_script_t){0};
}

void goal_format_value(const goal_value_t *value, char *out, size_t size)
{
    if (value->kind != GOAL_STRING) {
        snprintf(out, size, "%s", value->text);
        return;
    }
    size_t n = 0;
    if (n + 1 < size)
        out[n++] = '"';
    for (const char *s = value->text; *s != '\0'; s++) {
        const char *escape = *s == '"' ? "\\\"" : *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : *s == '\t' ? "\\t" : NULL;
        char plain[2] = {*s, '\0'};
        for (const char *e = escape != NULL ? escape : plain; *e != '\0'; e++)
            if (n + 1 < size)
                out[n++] = *e;
    }
    if (n + 1 < size)
        out[n++] = '"';
    if (size > 0)
        out[n] = '\0';
}

bool goal_format(const goal_command_t *c, char *out, size_t size)
{
    char value[2 * GOAL_VALUE_MAX + 2];
    goal_format_value(&c->value, value, sizeof value);
    int n;
    switch (c->op) {
    case GOAL_SET: n = snprintf(out, size, "set %s = %s", c->key, value); break;
    case GOAL_UNSET: n = snprintf(out, size, "unset %s", c->key); break;
    case GOAL_EXPECT_EQ: n = snprintf(out, size, "expect %s == %s", c->key, value); break;
    case GOAL_EXPECT_NE: n = snprintf(out, size, "expect %s != %s", c->key, value); break;
    case GOAL_EXPECT_ABSENT: n = snprintf(out, size, "expect %s absent", c->key); break;
    case GOAL_SHOW: n = snprintf(out, size, "show"); break;
    case GOAL_FAILOVER: n = snprintf(out, size, "failover"); break;
    default: n = -1; break;
    }
    return n >= 0 && (size_t)n < size;
}

bool goal_value_equal(const goal_value_t *a, const goal_value_t *b)
{
    return a->kind == b->kind && strcmp(a->text, b->text) == 0;
}

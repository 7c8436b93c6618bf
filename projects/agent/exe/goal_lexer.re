/*
 * goal_lexer.re - the lexer of the goal-state language (goal.h), as re2c rules.
 *
 * The build runs re2c on this file in pass0 and compiles the generated goal_lexer.c in pass1. re2c turns the rules
 * below into one deterministic automaton of plain C (switches and gotos): longest match wins, and between two
 * rules matching the same text, the first one written (so the keywords come before `word`).
 *
 * The input ends with a NUL sentinel, so the automaton needs no bounds checks (re2c:yyfill:enable = 0); a NUL
 * before the end of the input is an error, not the end.
 */
#include "goal.h"

void goal_lexer_init(goal_lexer_t *lexer, const char *text, size_t length)
{
    lexer->cursor = (const unsigned char *)text;
    lexer->limit = lexer->cursor + length;
    lexer->line_start = lexer->cursor;
    lexer->line = 1;
}

static goal_token_t token(const goal_lexer_t *lexer, goal_token_kind_t kind, const unsigned char *start,
                          const unsigned char *end)
{
    goal_token_t t = {
        .kind = kind,
        .text = (const char *)start,
        .length = (size_t)(end - start),
        .line = lexer->line,
        .column = (unsigned)(start - lexer->line_start) + 1,
    };
    return t;
}

static goal_token_t error(const goal_lexer_t *lexer, const unsigned char *start, const unsigned char *end,
                          const char *message)
{
    goal_token_t t = token(lexer, TOK_ERROR, start, end);
    t.error = message;
    return t;
}

goal_token_t goal_lex(goal_lexer_t *lexer)
{
    const unsigned char *YYCURSOR = lexer->cursor, *YYMARKER;
    for (;;) {
        const unsigned char *start = YYCURSOR;
        /*!re2c
            re2c:yyfill:enable = 0;
            re2c:YYCTYPE = "unsigned char";

            word   = [a-zA-Z_] [a-zA-Z0-9_-]*;
            number = "-"? [0-9]+;
            string = ["] ([^"\\\n\x00] | [\\] [^\n\x00])* ["];

            "\x00" {
                if (start == lexer->limit) {
                    lexer->cursor = start; /* stay on the sentinel: EOF again if asked again */
                    return token(lexer, TOK_EOF, start, start);
                }
                lexer->cursor = YYCURSOR;
                return error(lexer, start, YYCURSOR, "NUL byte in the script");
            }
            [ \t\r]+         { continue; }
            "#" [^\n\x00]*   { continue; }
            "\n" {
                goal_token_t t = token(lexer, TOK_NEWLINE, start, YYCURSOR);
                lexer->line++;
                lexer->line_start = lexer->cursor = YYCURSOR;
                return t;
            }

            "set"      { lexer->cursor = YYCURSOR; return token(lexer, TOK_SET, start, YYCURSOR); }
            "unset"    { lexer->cursor = YYCURSOR; return token(lexer, TOK_UNSET, start, YYCURSOR); }
            "expect"   { lexer->cursor = YYCURSOR; return token(lexer, TOK_EXPECT, start, YYCURSOR); }
            "absent"   { lexer->cursor = YYCURSOR; return token(lexer, TOK_ABSENT, start, YYCURSOR); }
            "show"     { lexer->cursor = YYCURSOR; return token(lexer, TOK_SHOW, start, YYCURSOR); }
            "failover" { lexer->cursor = YYCURSOR; return token(lexer, TOK_FAILOVER, start, YYCURSOR); }
            word       { lexer->cursor = YYCURSOR; return token(lexer, TOK_WORD, start, YYCURSOR); }
            number     { lexer->cursor = YYCURSOR; return token(lexer, TOK_NUMBER, start, YYCURSOR); }
            string     { lexer->cursor = YYCURSOR; return token(lexer, TOK_STRING, start, YYCURSOR); }
            "=="       { lexer->cursor = YYCURSOR; return token(lexer, TOK_EQ, start, YYCURSOR); }
            "!="       { lexer->cursor = YYCURSOR; return token(lexer, TOK_NE, start, YYCURSOR); }
            "="        { lexer->cursor = YYCURSOR; return token(lexer, TOK_ASSIGN, start, YYCURSOR); }
            "."        { lexer->cursor = YYCURSOR; return token(lexer, TOK_DOT, start, YYCURSOR); }

            ["] {
                /* An opening quote that no rule above could close: report it, skip to the end of the line. */
                while (*YYCURSOR != '\n' && *YYCURSOR != '\0')
                    YYCURSOR++;
                lexer->cursor = YYCURSOR;
                return error(lexer, start, start + 1, "unterminated string");
            }
            * {
                lexer->cursor = YYCURSOR;
                return error(lexer, start, YYCURSOR, "unexpected character");
            }
        */
    }
}

const char *goal_token_name(goal_token_kind_t kind)
{
    switch (kind) {
    case TOK_EOF: return "end of file";
    case TOK_NEWLINE: return "end of line";
    case TOK_SET: return "'set'";
    case TOK_UNSET: return "'unset'";
    case TOK_EXPECT: return "'expect'";
    case TOK_ABSENT: return "'absent'";
    case TOK_SHOW: return "'show'";
    case TOK_FAILOVER: return "'failover'";
    case TOK_WORD: return "a word";
    case TOK_NUMBER: return "a number";
    case TOK_STRING: return "a string";
    case TOK_DOT: return "'.'";
    case TOK_ASSIGN: return "'='";
    case TOK_EQ: return "'=='";
    case TOK_NE: return "'!='";
    case TOK_ERROR: return "an error";
    }
    return "a token";
}

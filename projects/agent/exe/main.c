/*
 * agent - apply a goal-state script to a replicated state, through the primary tracker.
 *
 *   agent [--replicas N] [--seed N] [--loss PERCENT] SCRIPT      (SCRIPT may be - for standard input)
 *   agent --version
 *
 * The whole script is parsed before anything is applied: a script with a syntax error changes nothing. The ring
 * of replicas is simulated in this process (replica.h), so a run is reproducible from its options.
 *
 * Exit status: 0 when every change was applied and every expectation met, 1 when not, 2 for a usage or syntax
 * error (nothing applied).
 */
#include <stdlib.h>
#include <string.h>

#include <tracker.h>

#include "agent.h"
#include "goal.h"

/* Defined by the stamp object the build links into every program (version and commit of this build). */
extern const char enlist_stamp_version[];
extern const char enlist_stamp_commit[];

#define SCRIPT_MAX (1u << 20)

typedef struct options {
    unsigned replicas, loss;
    uint64_t seed;
    const char *script;
} options_t;

static int usage(const char *problem)
{
    if (problem != NULL)
        fprintf(stderr, "agent: %s\n", problem);
    fprintf(stderr, "usage: agent [--replicas N] [--seed N] [--loss PERCENT] SCRIPT\n"
                    "       agent --version\n");
    return 2;
}

static bool number(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    if (text == NULL || *text < '0' || *text > '9')
        return false;
    *out = strtoul(text, &end, 10);
    return *end == '\0' && *out <= max;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    *o = (options_t){.replicas = 5, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        unsigned long v;
        if (strcmp(arg, "--replicas") == 0 || strcmp(arg, "--seed") == 0 || strcmp(arg, "--loss") == 0) {
            bool replicas = arg[2] == 'r', loss = arg[2] == 'l';
            unsigned long max = replicas ? REPLICA_MAX_NODES : loss ? 50 : 1000000000;
            if (!number(i + 1 < argc ? argv[++i] : NULL, max, &v) || (replicas && v == 0))
                return usage(replicas ? "--replicas takes 1 to 16"
                             : loss   ? "--loss takes 0 to 50"
                                      : "--seed takes a number");
            if (replicas)
                o->replicas = (unsigned)v;
            else if (loss)
                o->loss = (unsigned)v;
            else
                o->seed = v;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage("unknown option");
        } else if (o->script != NULL) {
            return usage("one script at a time");
        } else {
            o->script = arg;
        }
    }
    return o->script == NULL ? usage("no script given") : 0;
}

/* Read the whole script, with the NUL sentinel the lexer relies on. */
static char *read_script(const char *path, size_t *length)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "agent: cannot open %s\n", path);
        return NULL;
    }
    char *text = malloc(SCRIPT_MAX + 1);
    size_t n = text != NULL ? fread(text, 1, SCRIPT_MAX + 1, f) : 0;
    bool failed = text == NULL || ferror(f) || n > SCRIPT_MAX;
    if (f != stdin)
        fclose(f);
    if (failed) {
        fprintf(stderr, "agent: cannot read %s%s\n", path, n > SCRIPT_MAX ? " (larger than 1 MiB)" : "");
        free(text);
        return NULL;
    }
    text[n] = '\0';
    *length = n;
    return text;
}

static int run(const options_t *o, const goal_script_t *script)
{
    size_t changes = 0;
    for (size_t i = 0; i < script->count; i++)
        changes += script->commands[i].op == GOAL_SET || script->commands[i].op == GOAL_UNSET;
    replica_config_t config = {.replicas = o->replicas, .loss_percent = o->loss, .seed = o->seed,
                               .capacity = (unsigned)(2 * changes + 64)};
    agent_t agent = {.out = stdout};
    replica_status_t rs = replica_ring_create(&config, &agent.ring);
    tracker_status_t ts = rs == REPLICA_OK ? tracker_create(agent.ring, NULL, &agent.tracker) : TRACKER_E_NOMEM;
    if (ts == TRACKER_OK)
        ts = tracker_client_open(agent.tracker, &agent.client);
    int rc = 1;
    if (ts == TRACKER_OK) {
        printf("agent: %zu statement%s, ring of %u replica%s (seed %llu, %u%% message loss)\n", script->count,
               script->count == 1 ? "" : "s", o->replicas, o->replicas == 1 ? "" : "s", (unsigned long long)o->seed,
               o->loss);
        rc = agent_run(&agent, script);
    } else {
        fprintf(stderr, "agent: cannot start: %s\n", rs != REPLICA_OK ? replica_strerror(rs) : tracker_strerror(ts));
    }
    tracker_destroy(agent.tracker);
    replica_ring_destroy(agent.ring);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("agent %s (commit %s)\n", enlist_stamp_version, enlist_stamp_commit);
        return 0;
    }
    options_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    size_t length;
    char *text = read_script(o.script, &length);
    if (text == NULL)
        return 2;
    goal_script_t script = {0};
    fflush(stdout);
    unsigned errors = goal_parse(o.script, text, length, &script, stderr);
    if (errors > 0) {
        fprintf(stderr, "agent: %u error%s in %s; nothing was applied\n", errors, errors == 1 ? "" : "s", o.script);
        rc = 2;
    } else {
        rc = run(&o, &script);
    }
    goal_script_free(&script);
    free(text);
    return rc;
}

/*
 * agent_test - golden-file tests of the agent program: run it on every script of a directory and compare what it
 * prints with the expected output next to the script.
 *
 *   agent_test [--update] AGENT SCRIPTS_DIR
 *
 * For each NAME.goal in SCRIPTS_DIR (in name order), the agent runs in SCRIPTS_DIR with the options listed on the
 * script's `# args:` lines, followed by NAME.goal. Its standard output and standard error, merged, followed by a
 * line `[exit N]`, must equal NAME.out byte for byte. With --update, NAME.out is rewritten instead (review the
 * diff before committing it). The test also checks `agent --version` and the usage errors.
 *
 * AGENT may be written the way a descriptor names it (`...\bin\agent.exe`): backslashes are read as slashes, and
 * a `.exe` that does not exist on this platform is dropped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 16
#define OUTPUT_MAX (1u << 20)
#define TIME_LIMIT 60 /* seconds: a hung agent is killed, not waited for */

typedef struct output {
    char *text;
    size_t length;
    int status; /* exit code, or 128 + signal */
} output_t;

/* Make the agent's path absolute (the agent runs in the scripts directory) and native. */
static char *agent_path(const char *given)
{
    char cwd[4096];
    size_t n = strlen(given);
    char *path = malloc(sizeof cwd + n + 2);
    if (path == NULL || getcwd(cwd, sizeof cwd) == NULL)
        return NULL;
    snprintf(path, sizeof cwd + n + 2, "%s%s%s", given[0] == '/' ? "" : cwd, given[0] == '/' ? "" : "/", given);
    for (char *c = path; *c != '\0'; c++)
        if (*c == '\\')
            *c = '/';
    size_t len = strlen(path);
    if (access(path, X_OK) != 0 && len > 4 && strcmp(path + len - 4, ".exe") == 0)
        path[len - 4] = '\0';
    return path;
}

/* Run argv[0] in `dir`, capturing standard output and standard error together. */
static bool run(const char *dir, char *const argv[], output_t *out)
{
    int fds[2];
    out->text = NULL;
    if (pipe(fds) != 0)
        return false;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        alarm(TIME_LIMIT); /* survives exec: the agent is killed if it hangs */
        if (chdir(dir) == 0)
            execv(argv[0], argv);
        fprintf(stderr, "agent_test: cannot run %s in %s: %s\n", argv[0], dir, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    out->text = malloc(OUTPUT_MAX + 1);
    out->length = 0;
    ssize_t got;
    while (out->text != NULL && out->length < OUTPUT_MAX &&
           (got = read(fds[0], out->text + out->length, OUTPUT_MAX - out->length)) != 0) {
        if (got < 0 && errno != EINTR)
            break;
        if (got > 0)
            out->length += (size_t)got;
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    out->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (out->text != NULL)
        out->text[out->length] = '\0';
    return out->text != NULL;
}

static char *read_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *text = malloc(OUTPUT_MAX + 1);
    size_t n = text != NULL ? fread(text, 1, OUTPUT_MAX, f) : 0;
    fclose(f);
    if (text != NULL)
        text[n] = '\0';
    *length = n;
    return text;
}

/* The options on `# args:` lines. Returns the number of words stored in argv (which must have MAX_ARGS slots). */
static int script_args(const char *script, char *argv[], char *storage, size_t size)
{
    int n = 0;
    size_t used = 0;
    for (const char *line = script; line != NULL && *line != '\0'; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, "# args:", 7) != 0)
            continue;
        const char *s = line + 7;
        while (*s != '\n' && *s != '\0') {
            while (*s == ' ' || *s == '\t')
                s++;
            size_t w = strcspn(s, " \t\n");
            if (w == 0 || n == MAX_ARGS - 2 || used + w + 1 > size)
                break;
            memcpy(storage + used, s, w);
            storage[used + w] = '\0';
            argv[n++] = storage + used;
            used += w + 1;
            s += w;
        }
    }
    return n;
}

/* Report the first line where the two texts differ. */
static void show_difference(const char *name, const char *expected, const char *actual)
{
    unsigned line = 1;
    while (*expected != '\0' && *expected == *actual) {
        line += *expected == '\n';
        expected++;
        actual++;
    }
    while (line > 1 && expected[-1] != '\n') {
        expected--;
        actual--;
    }
    fprintf(stderr, "FAIL %s.goal: output differs at line %u\n  expected: %.*s\n  actual:   %.*s\n", name, line,
            (int)strcspn(expected, "\n"), expected, (int)strcspn(actual, "\n"), actual);
}

static bool check_script(const char *agent, const char *dir, const char *name, bool update)
{
    char path[4096], goal[512], storage[1024];
    size_t length;
    snprintf(path, sizeof path, "%s/%s.goal", dir, name);
    char *script = read_file(path, &length);
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)agent;
    argc += script != NULL ? script_args(script, argv + 1, storage, sizeof storage) : 0;
    snprintf(goal, sizeof goal, "%s.goal", name);
    argv[argc++] = goal;
    argv[argc] = NULL;
    free(script);

    output_t out;
    if (!run(dir, argv, &out)) {
        fprintf(stderr, "FAIL %s.goal: cannot run the agent\n", name);
        return false;
    }
    char *actual = malloc(out.length + 32);
    if (actual == NULL)
        return false;
    snprintf(actual, out.length + 32, "%s[exit %d]\n", out.text, out.status);
    free(out.text);

    snprintf(path, sizeof path, "%s/%s.out", dir, name);
    bool ok;
    if (update) {
        FILE *f = fopen(path, "wb");
        ok = f != NULL && fputs(actual, f) >= 0;
        ok = f != NULL && fclose(f) == 0 && ok;
        printf("%s %s.out\n", ok ? "wrote" : "CANNOT WRITE", name);
    } else {
        char *expected = read_file(path, &length);
        ok = expected != NULL && strcmp(expected, actual) == 0;
        if (expected == NULL)
            fprintf(stderr, "FAIL %s.goal: no expected output %s.out (run with --update to create it)\n", name, name);
        else if (!ok)
            show_difference(name, expected, actual);
        else
            printf("ok   %s.goal\n", name);
        if (!ok)
            fprintf(stderr, "---- actual output of %s.goal ----\n%s----\n", name, actual);
        free(expected);
    }
    free(actual);
    return ok;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the *.goal scripts in `dir`, sorted, without the extension. */
static size_t list_scripts(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    size_t n = 0, capacity = 0;
    struct dirent *e;
    *names = NULL;
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".goal") != 0)
            continue;
        if (n == capacity) {
            capacity = capacity ? 2 * capacity : 16;
            char **grown = realloc(*names, capacity * sizeof *grown);
            if (grown == NULL)
                break;
            *names = grown;
        }
        (*names)[n] = strndup(e->d_name, len - 5);
        n += (*names)[n] != NULL;
    }
    if (d != NULL)
        closedir(d);
    if (n > 0)
        qsort(*names, n, sizeof **names, compare_names);
    return n;
}

/* --version prints "agent VERSION (commit COMMIT)"; bad usage exits 2 with a usage line. */
static bool check_command_line(const char *agent, const char *dir)
{
    output_t out = {.text = NULL};
    bool ok = true;
    char *version[] = {(char *)agent, "--version", NULL};
    char v[128] = "", commit[128] = "";
    ok &= run(dir, version, &out) && out.status == 0 &&
          sscanf(out.text, "agent %127s (commit %127[^)])", v, commit) == 2 && v[0] != '\0' && commit[0] != '\0';
    const char *shown = out.text != NULL ? out.text : "(did not run)";
    printf("%s agent --version: %.*s\n", ok ? "ok  " : "FAIL", (int)strcspn(shown, "\n"), shown);
    free(out.text);
    out.text = NULL;

    char *none[] = {(char *)agent, NULL};
    char *unknown[] = {(char *)agent, "--frobnicate", "x.goal", NULL};
    char *missing[] = {(char *)agent, "no-such-script.goal", NULL};
    char *const *cases[] = {none, unknown, missing};
    const char *expect[] = {"usage: agent", "unknown option", "cannot open no-such-script.goal"};
    for (size_t i = 0; i < 3; i++) {
        bool good = run(dir, cases[i], &out) && out.status == 2 && strstr(out.text, expect[i]) != NULL;
        printf("%s agent %s: exit %d\n", good ? "ok  " : "FAIL", cases[i][1] ? cases[i][1] : "(no arguments)",
               out.status);
        free(out.text);
        ok &= good;
    }
    return ok;
}

int main(int argc, char **argv)
{
    bool update = argc > 1 && strcmp(argv[1], "--update") == 0;
    if (argc != 3 + update) {
        fprintf(stderr, "usage: agent_test [--update] AGENT SCRIPTS_DIR\n");
        return 2;
    }
    char *agent = agent_path(argv[1 + update]);
    const char *dir = argv[2 + update];
    if (agent == NULL || access(agent, X_OK) != 0) {
        fprintf(stderr, "agent_test: no agent program at %s\n", argv[1 + update]);
        return 2;
    }
    char **names;
    size_t n = list_scripts(dir, &names);
    if (n == 0) {
        fprintf(stderr, "agent_test: no *.goal scripts in %s\n", dir);
        return 2;
    }
    unsigned failed = update ? 0 : !check_command_line(agent, dir);
    for (size_t i = 0; i < n; i++) {
        failed += !check_script(agent, dir, names[i], update);
        free(names[i]);
    }
    free(names);
    free(agent);
    printf("%zu scripts, %u failed\n", n, failed);
    return failed == 0 ? 0 : 1;
}

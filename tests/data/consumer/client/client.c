/*
 * client - append the command-line arguments to a replicated log of three replicas and print the log back.
 *
 *   client COMMAND...
 *
 * Exits 0 when every command was committed, in order, at the slot the primary reported.
 */
#include <stdio.h>
#include <string.h>

#include <replica.h>

static int fail(const char *what, replica_status_t status)
{
    fprintf(stderr, "client: %s: %s\n", what, replica_strerror(status));
    return 1;
}

int main(int argc, char **argv)
{
    replica_config_t config = {.replicas = 3, .seed = 1};
    replica_ring_t *ring = NULL;
    replica_status_t status = replica_ring_create(&config, &ring);
    if (status != REPLICA_OK)
        return fail("create", status);
    status = replica_ring_elect(ring, 0);
    if (status != REPLICA_OK)
        return fail("elect", status);
    int code = 0;
    for (int i = 1; i < argc && code == 0; i++) {
        replica_request_t request = {.client = 1, .seq = (uint32_t)i, .text = argv[i]};
        uint64_t slot = 0;
        replica_entry_t entry;
        status = replica_ring_submit(ring, 0, &request, &slot);
        if (status == REPLICA_OK)
            status = replica_ring_read(ring, 0, slot, &entry);
        if (status != REPLICA_OK)
            code = fail(argv[i], status);
        else if (strcmp(entry.text, argv[i]) != 0)
            code = fail(argv[i], REPLICA_E_INVALID);
        else
            printf("slot %llu: %s\n", (unsigned long long)slot, entry.text);
    }
    replica_ring_destroy(ring);
    return code;
}

/* hello: the first project of a new enlistment. The build links a stamp object that names the version. */
#include <stdio.h>

extern const char enlist_stamp_version[];

int main(void)
{
    printf("hello from version %s\n", enlist_stamp_version);
    return 0;
}

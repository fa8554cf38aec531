/* tcplens merge: shards' NDJSON outputs back into one run's (src/merge.c). */
#ifndef TCPLENS_MERGE_H
#define TCPLENS_MERGE_H

/* The "merge" command, argv[0] being "merge"; returns the exit status. */
int tl_merge_main(int argc, char **argv);

#endif

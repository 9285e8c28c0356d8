/* Runs clickhouse-local's main from libchdb.so (the engine of the chdb npm packages) with the given
 * arguments. With a config and `SYSTEM START LISTEN HTTP/TCP` in the query, that is a ClickHouse
 * server speaking the real HTTP and native protocols; the call returns when the query ends or the
 * process is signalled. Usage: chdb-launcher /path/to/libchdb.so [clickhouse-local arguments...] */
#include <dlfcn.h>
#include <stdio.h>

typedef void *(*query_cmdline_fn)(int, char **);

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s LIBCHDB [ARGS...]\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (lib == NULL) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 2;
  }
  query_cmdline_fn run = (query_cmdline_fn)dlsym(lib, "chdb_query_cmdline");
  if (run == NULL) {
    fprintf(stderr, "%s has no chdb_query_cmdline: %s\n", argv[1], dlerror());
    return 2;
  }
  argv[1] = "clickhouse";
  run(argc - 1, argv + 1);
  return 0;
}

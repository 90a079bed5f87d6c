// librdkafka's C API (2.2 or newer; tools/bootstrap installs 2.8 under /usr/local).
#include <librdkafka/rdkafka.h>

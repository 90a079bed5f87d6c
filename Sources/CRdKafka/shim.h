// librdkafka's C API (2.2 or newer; tools/bootstrap installs 2.8 under /usr/local).
#include <librdkafka/rdkafka.h>
// The in-process mock cluster, for VigilKafka's server-less unit tests.
#include <librdkafka/rdkafka_mock.h>

// Bridges OpenBLAS's CBLAS interface (Debian package libopenblas-dev) into Swift.
#include <cblas.h>

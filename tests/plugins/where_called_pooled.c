/* where_called_pooled: where_called.c without OAIO_FEATURE_NONBLOCKING_CALL. */
#define WHERE_CALLED_NAME "where_called_pooled"
#define WHERE_CALLED_FEATURES 0u
#include "where_called.c"

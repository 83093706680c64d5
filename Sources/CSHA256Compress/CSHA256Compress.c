// The declaration in include/CSHA256Compress.h is the whole module; SwiftPM needs a source file.
#include "CSHA256Compress.h"

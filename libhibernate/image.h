/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libhibernate: the hibernation image container, the sinks it is written to and the lz4
 * pipeline that fills and drains it.  Same conventions as hibernate.h: 0 / non-negative or
 * -errno, ret_* written only on success, free functions accept NULL, no printing.
 *
 * This header only gathers the pieces, each with its own header and source file:
 *
 *   sink.h          where an image lives (sink.c; URLs in http.h)
 *   image-format.h  the on-disk layout, the system identity, record encoding (image-format.c)
 *   image-crypto.h  encryption and its keys (image-crypto.c)
 *   chunk.h         the chunk codec, lz4 (chunk.c)
 *   image-writer.h  the writer (image-writer.c)
 *   image-reader.h  the reader (image-reader.c)
 *   pipeline.h      reader -> N workers -> ordered writer (pipeline.c)
 */
#ifndef LIBHIBERNATE_IMAGE_H
#define LIBHIBERNATE_IMAGE_H

#include "hibernate.h"

#include "sink.h"
#include "image-format.h"
#include "image-crypto.h"
#include "chunk.h"
#include "image-writer.h"
#include "image-reader.h"
#include "pipeline.h"

#endif /* LIBHIBERNATE_IMAGE_H */

/*
 * calibration/npy.h — NumPy .npy arrays: float32, uint8, int8 and int32, C
 * order, little-endian; format versions 1.0, 2.0 and 3.0 read, 1.0 written
 * (2.0 when the header needs more than 65535 bytes).
 *
 * The reader works on a memory buffer and trusts nothing in it: magic,
 * version, header length and every key of the header dictionary are
 * checked, the shape's element and byte counts are overflow-checked, and the
 * data that follows the header must be exactly count * itemsize bytes long.
 * It never allocates: `data` points into the caller's buffer (little-endian
 * bytes, possibly unaligned; dnnq_npy_to_f32() converts). The file wrappers
 * read a whole file, up to a size limit, and write one.
 *
 * Errors carry one line naming the field: "npy: header: 'fortran_order' is
 * True: only C order is supported".
 */
#ifndef DNNQ_CALIBRATION_NPY_H
#define DNNQ_CALIBRATION_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/base.h"

#define DNNQ_NPY_MAX_DIMS 32

struct dnnq_npy {
	enum dnnq_dtype dtype;            /* F32, U8, S8 or S32 */
	unsigned version;                 /* major: 1, 2 or 3 */
	unsigned ndim;
	size_t shape[DNNQ_NPY_MAX_DIMS];
	size_t count;                     /* product of shape (1 when ndim == 0) */
	size_t nbytes;                    /* count * itemsize */
	size_t data_offset;               /* where the data starts in the buffer */
	const uint8_t *data;              /* little-endian, maybe unaligned */
	bool from_f64;                    /* the file held '<f8' (DNNQ_NPY_F64) */
	bool from_i64;                    /* the file held '<i8' (DNNQ_NPY_I64) */
};

/* Bytes an element of dt takes (F32, U8, S8, S32); 0 for any other. */
size_t dnnq_npy_itemsize(enum dnnq_dtype dt);

/* Parses and validates a whole .npy file held in buf[0..len). */
int dnnq_npy_parse(const void *buf, size_t len, struct dnnq_npy *out,
                   struct dnnq_diag *diag);

/* dnnq_npy_parse() with flags: DNNQ_NPY_F64 also accepts a '<f8' array,
 * which it reports as dtype F32 with from_f64 set, data still the file's
 * doubles and nbytes count * 8 (dnnq_npy_read_file() converts them). */
#define DNNQ_NPY_F64 1u
/* DNNQ_NPY_I64 also accepts an '<i8' array (numpy's default integer), which
 * it reports as dtype S32 with from_i64 set, data still the file's int64s
 * and nbytes count * 8 (dnnq_npy_read_file() converts them, refusing a
 * value outside int32's range). */
#define DNNQ_NPY_I64 2u
int dnnq_npy_parse_flags(const void *buf, size_t len, unsigned flags, struct dnnq_npy *out,
                         struct dnnq_diag *diag);

/* Whether a, read from path, may feed the input `input` of dtype want: its
 * dtype must be want, or f32 for a u8 input when f32_for_u8 (dnnqctl: the
 * daemon quantizes it). DNNQ_E_DTYPE otherwise, diag "PATH: dtype s32:
 * input 'x' takes f32 (x.astype(np.float32) converts an array)" (dnnqctl
 * infer and dnnq-run say the same). */
int dnnq_npy_check_dtype(const struct dnnq_npy *a, const char *path, const char *input,
                         enum dnnq_dtype want, bool f32_for_u8, struct dnnq_diag *diag);

/* A hint for an array a refused for an input of dims (rank of them;
 * dims[0], the batch, not read): "; one sample without its batch axis?
 * x[None] adds it" when a is dims[1..]; for a 4-D input, when a's dims are
 * the input's in the other image layout, "; channels last? np.transpose(x,
 * (0, 3, 1, 2)) makes the NCHW array the input takes", or its NHWC twin;
 * else, for an input of a converted model (a .dnnq: converted) and an
 * array of its rank, that the model takes the dims it was converted for
 * and how they were fixed; "" otherwise. dnnq-convert, dnnq-run and
 * dnnqctl infer end their shape refusals so. */
const char *dnnq_npy_shape_hint(const struct dnnq_npy *a, unsigned rank, const int64_t *dims,
                                bool converted);

/* Why the first n (>= 6) bytes at p are not a .npy file, for a message
 * after "not a .npy file": " (a .npz archive, np.savez's: ...)" for a ZIP
 * file, else " (it does not begin with \x93NUMPY, as np.save writes)". */
const char *dnnq_npy_not_npy(const void *p, size_t n);

/* out[0..a->count) = the elements as floats (int32 rounds above 2^24). */
void dnnq_npy_to_f32(const struct dnnq_npy *a, float *out);

/* Size of the .npy encoding of an array; DNNQ_E_RANGE on overflow. */
int dnnq_npy_encoded_size(enum dnnq_dtype dt, const size_t *shape, unsigned ndim,
                          size_t *size, struct dnnq_diag *diag);

/* Encodes an array (host-order elements of dt, C order) into buf[0..cap);
 * DNNQ_E_NOSPACE when cap is short. *written gets the size. */
int dnnq_npy_encode(void *buf, size_t cap, enum dnnq_dtype dt, const size_t *shape,
                    unsigned ndim, const void *data, size_t *written,
                    struct dnnq_diag *diag);

/* Reads a whole file (a regular one, a pipe, a /proc file) of at most
 * `limit` bytes into *buf (free() it; *len bytes). DNNQ_E_IO when it cannot
 * be read, DNNQ_E_NOMEM when it is larger than limit. */
int dnnq_file_read(const char *path, size_t limit, void **buf, size_t *len,
                   struct dnnq_diag *diag);

/* What dnnq_npy_read_file() narrowed ("float64 converted to float32",
 * "int64 converted to int32"), for the caller's note, or NULL. */
const char *dnnq_npy_narrowed(const struct dnnq_npy *a);

/* Reads a whole file of at most `limit` bytes into *buf (free() it) and
 * parses it into *out, whose data points into *buf. A float64 ('<f8') file
 * is converted to float32 in the buffer: out->dtype is F32 and
 * out->from_f64 is set, for the caller to say so; an int64 ('<i8') one to
 * int32 (dtype S32, from_i64 set), DNNQ_E_RANGE naming the file and the
 * element when a value does not fit. DNNQ_E_IO when the file cannot be
 * read, DNNQ_E_NOMEM when it is larger than limit. */
int dnnq_npy_read_file(const char *path, size_t limit, void **buf, struct dnnq_npy *out,
                       struct dnnq_diag *diag);

/* path replaced, whole, by buf[0..len): written under a new temporary
 * name beside it (O_EXCL), then renamed over it, so a reader never sees a
 * partial file, a failed write leaves the old one, and a symlink at path
 * is replaced rather than written through. */
int dnnq_file_replace(const char *path, const void *buf, size_t len, struct dnnq_diag *diag);

/* Writes an array as a .npy file (replacing it: dnnq_file_replace). */
int dnnq_npy_write_file(const char *path, enum dnnq_dtype dt, const size_t *shape,
                        unsigned ndim, const void *data, struct dnnq_diag *diag);

/* dir, and any missing parent, created (mkdir -p); DNNQ_E_IO when it is
 * not a directory or cannot be written to, DNNQ_E_INVAL when it is empty or
 * so long that DIR/STEM.npy (below) would not fit DNNQ_NPY_PATH_MAX bytes.
 * For the output directory of the tools that write .npy files, before
 * they do any work; their output paths are DNNQ_NPY_PATH_MAX bytes. */
#define DNNQ_NPY_PATH_MAX 4096
int dnnq_npy_make_dir(const char *dir, struct dnnq_diag *diag);

/* Output i's file name in an output directory, for the tools that write
 * each output as DIR/STEM.npy: its name with anything but [A-Za-z0-9._-]
 * (and a leading dot) made '_' and cut to 63 bytes (an empty one '_'), so a name from a
 * model or a daemon cannot leave DIR; a STEM that an earlier output,
 * stems[0..i), took already gets the first free suffix -2, -3, ..., so no
 * output overwrites another ("a/b" and "a_b": a_b.npy, a_b-2.npy). */
#define DNNQ_NPY_STEM_MAX 88
void dnnq_npy_output_stem(const char *name, char (*stems)[DNNQ_NPY_STEM_MAX], size_t i);

#endif

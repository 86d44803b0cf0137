/* core/nn/kernels_template.h: instantiates the template section of the kernel-body header named by
 * SBO_NN_KERNELS_FILE twice: nnk_real = float (bodies suffixed _f32, NNK_IS_FLOAT 1), then double (_f64). The
 * header includes this from its guarded part and keeps its bodies under #ifdef SBO_NN_KERNELS_TEMPLATE (see
 * core/nn/kernels_act.h). Usable from C and CUDA. No include guard. */
#define SBO_NN_KERNELS_TEMPLATE 1
#define nnk_real float
#define NNK(name) name##_f32
#define NNK_IS_FLOAT 1
#include SBO_NN_KERNELS_FILE
#undef nnk_real
#undef NNK
#undef NNK_IS_FLOAT
#define nnk_real double
#define NNK(name) name##_f64
#define NNK_IS_FLOAT 0
#include SBO_NN_KERNELS_FILE
#undef nnk_real
#undef NNK
#undef NNK_IS_FLOAT
#undef SBO_NN_KERNELS_TEMPLATE
#undef SBO_NN_KERNELS_FILE

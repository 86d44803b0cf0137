/* core/nn/template.h: instantiates the template section of the file named by SBO_NN_TEMPLATE_FILE twice, for
 * real = float (functions suffixed _f32) and real = double (_f64). An op family file includes it from its
 * precision-free part and holds its typed functions under #ifdef SBO_NN_TEMPLATE (see core/nn/op_act.c).
 * No include guard: it is meant to be included once per file that uses it. */
#define SBO_NN_TEMPLATE 1
#define real float
#define SFX(name) name##_f32
#define SBO_NN_IS_F32 1
#include SBO_NN_TEMPLATE_FILE
#undef real
#undef SFX
#undef SBO_NN_IS_F32
#define real double
#define SFX(name) name##_f64
#define SBO_NN_IS_F32 0
#include SBO_NN_TEMPLATE_FILE
#undef real
#undef SFX
#undef SBO_NN_IS_F32
#undef SBO_NN_TEMPLATE

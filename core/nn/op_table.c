/* core/nn/op_table.c: the op table: one descriptor per kind of SBO_NN_OP_LIST (core/nn/nn.h), defined in its
 * family's file (op_linear.c, op_act.c, op_loss.c, op_reg.c, op_norm.c, op_softmax.c, op_embed.c,
 * op_permute.c, op_vit.c, op_mixture.c).
 * Exercised by: every graph. */
#include "core/nn/op.h"   /* the descriptor, the list */

#define SBO_NN_EXTERN_(E, n) extern const sbo_nn_op_desc sbo_nn_op_##n;
SBO_NN_OP_LIST(SBO_NN_EXTERN_)
#define SBO_NN_ENTRY_(E, n) [SBO_NN_##E] = &sbo_nn_op_##n,
const sbo_nn_op_desc *const sbo_nn_op_table[SBO_NN_N_KINDS] = {SBO_NN_OP_LIST(SBO_NN_ENTRY_)};

const char *sbo_nn_kind_name(int kind) {
    return kind >= 0 && kind < SBO_NN_N_KINDS ? sbo_nn_op_table[kind]->name : "?";
}

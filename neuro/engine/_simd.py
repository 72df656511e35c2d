"""``y[i:i + w] += a * x[j:j + w]`` on a fixed-width vector, for the compiled event kernels.

Numba's loop vectoriser leaves short runs (the few dozen contiguous outputs one convolution
event reaches in one kernel row) in scalar code: the runtime alias checks and the scalar
remainder cost more than the run itself. :func:`axpy8` and :func:`axpy4` emit the vector
operation directly (LLVM ``<w x T>`` load, ``fmul``, ``fadd``, store; unaligned), with the
same two roundings per element as the scalar ``y[i] += a * x[j]`` (a multiply, then an add;
no fused multiply-add), so results are bitwise those of the scalar loop. The caller keeps
``i + w`` and ``j + w`` within the arrays (no bounds checks, as in Numba's indexing).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir as llir
from numba import types
from numba.extending import intrinsic


def _axpy(width: int) -> Any:
    @intrinsic
    def axpy(typingctx: Any, y: Any, i: Any, x: Any, j: Any, a: Any) -> Any:  # pragma: no cover - compiled
        sig = types.void(y, types.intp, x, types.intp, y.dtype)

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            y_val, i_val, x_val, j_val, a_val = args
            elt = context.get_data_type(signature.args[0].dtype)
            vec = llir.VectorType(elt, width)
            y_arr = context.make_array(signature.args[0])(context, builder, y_val)
            x_arr = context.make_array(signature.args[2])(context, builder, x_val)
            y_ptr = builder.bitcast(builder.gep(y_arr.data, [i_val]), vec.as_pointer())
            x_ptr = builder.bitcast(builder.gep(x_arr.data, [j_val]), vec.as_pointer())
            align = context.get_abi_sizeof(elt)
            lanes = builder.insert_element(llir.Constant(vec, llir.Undefined), a_val, llir.Constant(llir.IntType(32), 0))
            zeros = llir.Constant(llir.VectorType(llir.IntType(32), width), [0] * width)
            splat = builder.shuffle_vector(lanes, llir.Constant(vec, llir.Undefined), zeros)
            product = builder.fmul(splat, builder.load(x_ptr, align=align))
            builder.store(builder.fadd(builder.load(y_ptr, align=align), product), y_ptr, align=align)
            return context.get_dummy_value()

        return sig, codegen

    return axpy


axpy8 = _axpy(8)
"""``y[i:i + 8] += a * x[j:j + 8]`` (1-D C-contiguous float arrays of one dtype, ``a`` of it)."""

axpy4 = _axpy(4)
"""``y[i:i + 4] += a * x[j:j + 4]``."""

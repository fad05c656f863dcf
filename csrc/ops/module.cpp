// Makes the op library importable as the Python module hvae_ext._C: importing
// it runs the static TORCH_LIBRARY registrations. The module itself is empty,
// so it is built against the stable Python limited API (abi3).
#include <Python.h>

extern "C" {
PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT, "_C", "hvae_ext operator library (ops live in torch.ops.hvae)", -1,
      nullptr};
  return PyModule_Create(&module_def);
}
}

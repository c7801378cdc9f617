/**
 * Feature contracts: the versioned mapping from native-API requests to model input tensors, shared by training,
 * golden sets and live traffic so that a model never sees features computed two ways.
 */
package io.weir.runtime.features;

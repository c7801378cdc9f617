/**
 * Feature contracts: the versioned mapping from native-API requests to model input tensors, shared by training,
 * golden sets and live traffic so that a model never sees features computed two ways. {@code FeatureContract}
 * encodes a parsed request; {@code ContractRows} encodes a rank request's rows while a reader streams its JSON, through
 * the same per-field code. Owns encoding only: reading HTTP bodies and validating the API's own fields belong to the
 * gateway, which drives {@code ContractRows}.
 */
package io.weir.runtime.features;

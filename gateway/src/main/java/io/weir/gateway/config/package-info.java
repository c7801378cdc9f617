/**
 * Server configuration: one JSON file plus {@code WEIR_*} environment overrides, validated at start-up with the
 * offending key named. Must not read configuration anywhere else.
 */
package io.weir.gateway.config;

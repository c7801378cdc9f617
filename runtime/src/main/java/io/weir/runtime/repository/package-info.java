/**
 * The model repository on disk: layout, version names and order, and the sha256 checksums verified at load.
 * Reads and verifies; never loads a model into a backend.
 */
package io.weir.runtime.repository;

package io.weir.nativebindings;

/**
 * Whether an optional GPU library (cuBLAS, NVRTC) could be loaded.
 *
 * @param available true when the library and every symbol Weir needs were found
 * @param detail    where it was loaded from, or why it was not
 */
public record LibraryStatus(boolean available, String detail) {
}

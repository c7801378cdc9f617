package io.weir.nativebindings;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The downcall handles of a library without jextract bindings (cuBLAS, cuBLASLt, NVRTC, the TensorRT
 * shim), bound on first use so that class loading never touches the library.
 *
 * <p>Design note (concurrency): the first caller binds under this object's lock (double-checked,
 * published through one volatile). The outcome, the handles or the {@link GpuUnavailableException}
 * saying why there are none, is then fixed for the life of the process: a machine without the library
 * pays for the search once. Every later caller of a failed binding gets a fresh exception caused by
 * the remembered one, so that its stack trace shows where it asked. A binder that fails any other way
 * leaves nothing behind, and the next caller tries again.
 *
 * @param <L> the record of handles
 */
final class LazyLibrary<L> {

    private record Outcome<L>(L handles, GpuUnavailableException failure) {
    }

    private final String what;
    private final Supplier<L> binder;
    private volatile Outcome<L> outcome;

    /**
     * @param what   the library's name in messages, e.g. {@code "cuBLAS"}
     * @param binder loads the library and binds its symbols; throws {@link GpuUnavailableException}
     *               when the library cannot be loaded, or {@link NoSuchElementException} /
     *               {@link IllegalArgumentException} from {@link NativeLibraries.Located#downcall}
     *               when a symbol is missing
     */
    LazyLibrary(String what, Supplier<L> binder) {
        this.what = what;
        this.binder = binder;
    }

    /** A library found by {@link NativeLibraries#locate}, whose symbols {@code bind} resolves. */
    static <L> LazyLibrary<L> located(String what, String systemProperty, String envVariable, List<String> sonames,
                                      Function<NativeLibraries.Located, L> bind) {
        return new LazyLibrary<>(what, () -> bind.apply(NativeLibraries.locate(what, systemProperty, envVariable, sonames)));
    }

    /**
     * The handles, binding them on first use.
     *
     * @throws GpuUnavailableException when the library or one of its symbols is missing
     */
    L handles() {
        Outcome<L> o = outcome;
        if (o == null) {
            synchronized (this) {
                o = outcome;
                if (o == null) {
                    o = bind();
                    outcome = o;
                }
            }
        }
        if (o.failure() != null) {
            throw new GpuUnavailableException(o.failure().getMessage(), o.failure());
        }
        return o.handles();
    }

    /** Whether the library can be bound here; {@code describe} says, when it can, what was loaded. */
    LibraryStatus availability(Function<? super L, String> describe) {
        try {
            return new LibraryStatus(true, describe.apply(handles()));
        } catch (GpuUnavailableException e) {
            return new LibraryStatus(false, e.getMessage());
        }
    }

    private Outcome<L> bind() {
        try {
            return new Outcome<>(binder.get(), null);
        } catch (GpuUnavailableException e) {
            return new Outcome<>(null, e);
        } catch (NoSuchElementException | IllegalArgumentException e) {
            return new Outcome<>(null,
                    new GpuUnavailableException(what + " loaded but a symbol is missing: " + e.getMessage(), e));
        }
    }
}

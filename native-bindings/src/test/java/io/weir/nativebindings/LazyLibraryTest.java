package io.weir.nativebindings;

import org.junit.jupiter.api.Test;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

class LazyLibraryTest {

    private record Libc(String loadedFrom, MethodHandle strlen) {
    }

    private static LazyLibrary<Libc> libc(String symbol, AtomicInteger binds) {
        return LazyLibrary.located("test lib", "weir.test.unset", "WEIR_TEST_LIB_UNSET", List.of("libc.so.6"), loc -> {
            binds.incrementAndGet();
            return new Libc(loc.loadedFrom(), loc.downcall(symbol, FunctionDescriptor.of(JAVA_LONG, ADDRESS)));
        });
    }

    @Test
    void bindsOnFirstUseOnlyAndReportsWhereFrom() {
        AtomicInteger binds = new AtomicInteger();
        LazyLibrary<Libc> lib = libc("strlen", binds);
        assertThat(binds).hasValue(0);
        Libc first = lib.handles();
        assertThat(lib.handles()).isSameAs(first);
        assertThat(binds).hasValue(1);
        LibraryStatus status = lib.availability(Libc::loadedFrom);
        assertThat(status.available()).isTrue();
        assertThat(status.detail()).isEqualTo("libc.so.6");
    }

    @Test
    void aMissingSymbolIsRememberedAsUnavailableWithItsName() {
        AtomicInteger binds = new AtomicInteger();
        LazyLibrary<Libc> lib = libc("weir_no_such_symbol", binds);
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(lib::handles)
                    .isInstanceOf(GpuUnavailableException.class)
                    .hasMessageContaining("test lib loaded but a symbol is missing")
                    .hasMessageContaining("weir_no_such_symbol");
        }
        assertThat(binds).hasValue(1);
        LibraryStatus status = lib.availability(Libc::loadedFrom);
        assertThat(status.available()).isFalse();
        assertThat(status.detail()).contains("weir_no_such_symbol");
    }

    @Test
    void eachCallerGetsAFreshExceptionCausedByTheRememberedOne() {
        AtomicInteger binds = new AtomicInteger();
        GpuUnavailableException original = new GpuUnavailableException("no such library here");
        LazyLibrary<Libc> lib = new LazyLibrary<>("test lib", () -> {
            binds.incrementAndGet();
            throw original;
        });
        Throwable first = catchThrowable(lib::handles);
        Throwable second = catchThrowable(lib::handles);
        assertThat(first).isInstanceOf(GpuUnavailableException.class).hasMessage("no such library here").hasCause(original);
        assertThat(second).isNotSameAs(first).hasCause(original);
        assertThat(binds).hasValue(1);
    }

    @Test
    void anyOtherBinderFailureIsNotRememberedSoTheNextCallerRetries() {
        AtomicInteger binds = new AtomicInteger();
        LazyLibrary<String> lib = new LazyLibrary<>("test lib", () -> {
            if (binds.incrementAndGet() == 1) {
                throw new IllegalStateException("transient");
            }
            return "bound";
        });
        assertThatThrownBy(lib::handles).isInstanceOf(IllegalStateException.class).hasMessage("transient");
        assertThat(lib.handles()).isEqualTo("bound");
        assertThat(binds).hasValue(2);
    }
}

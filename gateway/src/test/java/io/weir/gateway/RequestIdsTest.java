package io.weir.gateway;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Generated request ids are well-formed random UUIDs and do not repeat, from one thread or many; a client's id is kept
 * only if it may be echoed as a header.
 */
class RequestIdsTest {

    @Test
    void idsAreVersion4UuidsInTheirCanonicalForm() {
        for (int i = 0; i < 1_000; i++) {
            String id = RequestIds.next();
            UUID uuid = UUID.fromString(id);
            assertThat(uuid.version()).isEqualTo(4);
            assertThat(uuid.variant()).isEqualTo(2);
            assertThat(uuid.toString()).isEqualTo(id);
            assertThat(id).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
        }
    }

    @Test
    void aClientsIdFitsIfItIsAtMost128PrintableAsciiCharacters() {
        assertThat(RequestIds.fit("req-1 (retry) ~")).isEqualTo("req-1 (retry) ~");
        assertThat(RequestIds.fit("r".repeat(128))).isEqualTo("r".repeat(128));
        for (String unfit : new String[] {null, "", "   ", "r".repeat(129), "a\nb", "a\rb", "a\u0000b", "a\tb", "a\u007fb", "r-\u00e9"}) {
            assertThat(RequestIds.fit(unfit)).as(String.valueOf(unfit)).isNull();
        }
    }

    @Test
    void idsDoNotRepeatAcrossThreads() {
        Set<String> seen = ConcurrentHashMap.newKeySet();
        IntStream.range(0, 8).parallel().forEach(t -> {
            Set<String> mine = new HashSet<>();
            for (int i = 0; i < 50_000; i++) {
                mine.add(RequestIds.next());
            }
            assertThat(mine).hasSize(50_000);
            seen.addAll(mine);
        });
        assertThat(seen).hasSize(8 * 50_000);
    }
}

package io.weir.gateway.http;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The cached meters count into the registry's one meter per tag set, whichever verticle's instance recorded. */
class GatewayMetricsTest {

    @Test
    void requestsWithTheSameTagsShareOneTimerAcrossInstancesAndOtherTagsGetTheirOwn() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        GatewayMetrics loop1 = new GatewayMetrics(registry);
        GatewayMetrics loop2 = new GatewayMetrics(registry);   // one per event loop, one registry

        loop1.record("moderate", "moderation", "1", "primary", "OK", 2_000_000);
        loop1.record("moderate", "moderation", "1", "primary", "OK", 4_000_000);
        loop2.record("moderate", "moderation", "1", "primary", "OK", 6_000_000);
        loop1.record("moderate", "moderation", "1", "primary", "RESOURCE_EXHAUSTED", 1_000_000);
        loop2.record("moderate", null, null, null, "INVALID_ARGUMENT", 500_000);   // rejected before routing

        Timer ok = registry.get("weir.http.requests").tags("route", "moderate", "model", "moderation", "version", "1",
                "arm", "primary", "code", "OK").timer();
        assertThat(ok.count()).isEqualTo(3);
        assertThat(ok.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(12.0);
        assertThat(registry.get("weir.http.requests").tags("code", "RESOURCE_EXHAUSTED").timer().count()).isEqualTo(1);
        Timer unrouted = registry.get("weir.http.requests").tags("route", "moderate", "model", "", "version", "",
                "arm", "", "code", "INVALID_ARGUMENT").timer();
        assertThat(unrouted.count()).isEqualTo(1);
        assertThat(registry.get("weir.http.requests").timers()).hasSize(3);
    }

    @Test
    void shedsAreCountedPerRouteAcrossInstances() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        GatewayMetrics loop1 = new GatewayMetrics(registry);
        GatewayMetrics loop2 = new GatewayMetrics(registry);

        loop1.shed("moderate");
        loop2.shed("moderate");
        loop2.shed("rank");

        assertThat(registry.get("weir.http.shed").tags("route", "moderate").counter().count()).isEqualTo(2);
        assertThat(registry.get("weir.http.shed").tags("route", "rank").counter().count()).isEqualTo(1);
    }
}

package io.weir.gateway.http;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The route a path counts as when it fails before its route named it (a body over the limit, say): every path Vert.x
 * serves a route on.
 */
class RouteNamesTest {
    @ParameterizedTest
    @CsvSource({
            "/v1/moderate, moderate",
            "/v1/moderate/, moderate",
            "/v1/rank:score, rank",
            "/v1/rank:score/, rank",
            "/v1beta1/moderate, moderate_deprecated",
            "/v1beta1/moderate/, moderate_deprecated",
            "/v2/models/echo/infer, v2_infer",
            "/v2/models/echo/versions/1.0.0/infer/, v2_infer",
            "/metrics, other",
            "/, other",
    })
    void aPathCountsAsItsRouteWithOrWithoutATrailingSlash(String path, String route) {
        assertThat(HttpVerticle.routeOf(path, "v1beta1")).isEqualTo(route);
    }
}

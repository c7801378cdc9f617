/**
 * Chaos drills as SREs run them: a plan (JSON) of phases, each with the faults it injects or clears through a running
 * gateway's chaos admin API and what clients must see meanwhile, run under steady open-model load from outside the
 * server; the report says, phase by phase, whether every request got exactly one well-formed answer of its own
 * (nothing lost, no answer carrying another request's id, every 429 with a Retry-After, every error in the error
 * table's shape) and whether the phase's expectations held (allowed statuses, share of 200s, p95, recovery time).
 *
 * <p>Owns the drill plan format, the load it offers and the verdict. Talks to Weir only over HTTP, as a client would:
 * nothing here may reach into the gateway, the batcher or the backends (the fault decorators of {@code io.weir.chaos}
 * are the server's side of a drill). Sends only to loopback addresses (a remote gateway is reached through a tunnel
 * or port-forward, as its admin API is).
 */
package io.weir.chaos.drill;

"""Load on loopback, bounded in count and time: 200 agents onboarding at once, then 1,000 token
requests, without a single error."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import client as sgclient

AGENTS = 200
RSA_AGENTS = 20  # share one key: the server's work per request is the same
TOKENS = 1000
TOKEN_WORKERS = 20
TIME_LIMIT = 60


def test_200_concurrent_onboardings_and_1000_tokens(emu, keys):
    started = time.monotonic()
    boardings = [emu.create_agent("RSA_3072" if i < RSA_AGENTS else "SHARED_SECRET",
                                  name="load-%d" % i)[1] for i in range(AGENTS)]
    agents = [sgclient.Agent(b, ca_file=emu.ca) for b in boardings]

    # 200 threads released together, one registration each, each on its own connection
    barrier = threading.Barrier(AGENTS)
    results = [None] * AGENTS

    def onboard(i):
        barrier.wait()
        try:
            results[i] = agents[i].onboard(key=keys[0] if agents[i].is_rsa else None).status
        except Exception as exc:  # report, don't hang the barrier
            results[i] = repr(exc)
    threads = [threading.Thread(target=onboard, args=(i,)) for i in range(AGENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIME_LIMIT)
    onboarded_at = time.monotonic()
    assert results == [201] * AGENTS, [r for r in results if r != 201][:5]

    # 1,000 token requests over 20 keep-alive connections, spread across all agents
    def worker(w):
        transport = sgclient.Transport(emu.base_url, emu.ca, keep_alive=True)
        statuses = []
        try:
            for n in range(TOKENS // TOKEN_WORKERS):
                agent = agents[(w * 37 + n) % AGENTS]
                assertion = agent.assertion()
                resp = transport.request("POST", "/api/agentmanagement/v3/oauth/token",
                                         sgclient.token_form(assertion),
                                         {"Content-Type": "application/x-www-form-urlencoded"})
                statuses.append(resp.status)
        finally:
            transport.close()
        return statuses
    with ThreadPoolExecutor(TOKEN_WORKERS) as pool:
        statuses = [s for chunk in pool.map(worker, range(TOKEN_WORKERS)) for s in chunk]
    finished = time.monotonic()
    assert statuses == [200] * TOKENS, {s: statuses.count(s) for s in set(statuses)}

    total = sum(emu.state(a.client_id)["token_count"] for a in agents[:10])
    assert total > 0
    print("\nload: %d onboardings in %.1f s, %d tokens in %.1f s"
          % (AGENTS, onboarded_at - started, TOKENS, finished - onboarded_at))
    assert finished - started < TIME_LIMIT

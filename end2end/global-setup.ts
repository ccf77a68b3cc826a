// Waits until the server answers /healthz, so tests never race its start-up.
export default async function globalSetup(): Promise<void> {
  const base = process.env.AMSO_E2E_BASE_URL ?? 'http://127.0.0.1:3000';
  const deadline = Date.now() + 600_000; // the demo history (100,000 ads) is written before the server listens
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
      last = `status ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server at ${base} did not become healthy: ${last}`);
}

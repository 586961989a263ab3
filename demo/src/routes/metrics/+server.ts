// What Prometheus scrapes: every gapless_* series, in the text exposition format. A real app
// keeps this endpoint off the public internet (a separate port, or a check of the caller).
import { metrics } from '$lib/server/metrics';

export function GET() {
  return new Response(metrics.text(), { headers: { 'content-type': metrics.contentType } });
}

"""Agent traces from the real OpenTelemetry Python SDK, exported over OTLP/gRPC or OTLP/HTTP.

usage: python_agent.py PROTOCOL ENDPOINT TENANT RUNS [gzip] [api-key]
Prints one JSON object: every finished span (ids, parent, name, status) and whether every export
succeeded, so the test knows exactly what must be stored.
"""
import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from grpc import Compression as GrpcCompression

protocol, endpoint, tenant, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
gzip = len(sys.argv) > 5 and sys.argv[5] == "gzip"
api_key = sys.argv[6] if len(sys.argv) > 6 else None
headers = {"authorization": f"Bearer {api_key}"} if api_key else None

if protocol == "grpc":
    exporter = GrpcExporter(endpoint=endpoint, insecure=True, headers=headers, compression=GrpcCompression.Gzip if gzip else None, timeout=10)
else:
    exporter = HttpExporter(endpoint=f"{endpoint}/v1/traces", headers=headers, compression=HttpCompression.Gzip if gzip else HttpCompression.NoCompression, timeout=10)


class Recording(SpanExporter):
    def __init__(self, inner):
        self.inner = inner
        self.results = []

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()


recording = Recording(exporter)
memory = InMemorySpanExporter()
provider = TracerProvider(resource=Resource.create({"service.name": "python-agent", "tenant.id": tenant, "deployment.environment": "ci"}))
provider.add_span_processor(SimpleSpanProcessor(memory))
provider.add_span_processor(BatchSpanProcessor(recording, schedule_delay_millis=50))
tracer = provider.get_tracer("tracehouse-python-test", "1.0.0")

for run in range(runs):
    with tracer.start_as_current_span("invoke_agent python_helper", kind=SpanKind.INTERNAL, attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "python_helper"}):
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 1000 + run, "gen_ai.usage.output_tokens": 200,
            "gen_ai.request.temperature": 0.2, "app.flags": ["a", "b"],
        }) as chat:
            chat.add_event("gen_ai.choice", {"index": 0})
        with tracer.start_as_current_span("execute_tool lookup", attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"}) as tool:
            tool.set_status(Status(StatusCode.ERROR, "lookup failed"))

provider.force_flush()
provider.shutdown()
spans = [
    {
        "trace_id": format(s.context.trace_id, "032x"),
        "span_id": format(s.context.span_id, "016x"),
        "parent_span_id": format(s.parent.span_id, "016x") if s.parent else "",
        "operation": s.name,
        "status_code": {StatusCode.UNSET: "UNSET", StatusCode.OK: "OK", StatusCode.ERROR: "ERROR"}[s.status.status_code],
        "start_ns": str(s.start_time),
        "end_ns": str(s.end_time),
    }
    for s in memory.get_finished_spans()
]
print(json.dumps({"ok": bool(recording.results) and all(r == SpanExportResult.SUCCESS for r in recording.results), "spans": spans}))

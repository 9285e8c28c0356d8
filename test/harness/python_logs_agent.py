"""GenAI events and log lines from the real OpenTelemetry Python SDK, correlated with its spans,
exported over OTLP/gRPC or OTLP/HTTP (traces and logs alike).

usage: python_logs_agent.py PROTOCOL ENDPOINT TENANT RUNS [api-key]
Each run is a chat span with, inside it, a gen_ai.user.message event (body: role and content), a
gen_ai.client.inference.operation.details event (model, tokens, output messages) and a WARNING
from Python's logging through the SDK's LoggingHandler. Prints one JSON object: every record's
kind, trace and span id, and whether every export succeeded.
"""
import json
import logging
import sys

from opentelemetry import trace
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

protocol, endpoint, tenant, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
headers = {"authorization": f"Bearer {sys.argv[5]}"} if len(sys.argv) > 5 else None

if protocol == "grpc":
    span_exporter = GrpcSpanExporter(endpoint=endpoint, insecure=True, headers=headers, timeout=10)
    log_exporter = GrpcLogExporter(endpoint=endpoint, insecure=True, headers=headers, timeout=10)
else:
    span_exporter = HttpSpanExporter(endpoint=f"{endpoint}/v1/traces", headers=headers, timeout=10)
    log_exporter = HttpLogExporter(endpoint=f"{endpoint}/v1/logs", headers=headers, timeout=10)


class Recording(LogRecordExporter):
    def __init__(self, inner):
        self.inner = inner
        self.results = []

    def export(self, batch):
        result = self.inner.export(batch)
        self.results.append(result)
        return result

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)

    def shutdown(self):
        self.inner.shutdown()


resource = Resource.create({"service.name": "python-logs-agent", "tenant.id": tenant, "deployment.environment": "ci"})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
tracer = tracer_provider.get_tracer("tracehouse-python-logs-test", "1.0.0")

recording = Recording(log_exporter)
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(recording))
events = logger_provider.get_logger("tracehouse-python-logs-test", "1.0.0")
app_log = logging.getLogger("python-logs-agent")
app_log.propagate = False
app_log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))

records = []
for run in range(runs):
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=trace.SpanKind.CLIENT, attributes={"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}) as chat:
        ids = {"trace_id": format(chat.get_span_context().trace_id, "032x"), "span_id": format(chat.get_span_context().span_id, "016x")}
        events.emit(LogRecord(event_name="gen_ai.user.message", severity_number=SeverityNumber.INFO, body={"role": "user", "content": f"question {run}"}, attributes={"gen_ai.provider.name": "openai"}))
        records.append({"kind": "gen_ai.user.message", "content": f"question {run}", **ids})
        events.emit(LogRecord(event_name="gen_ai.client.inference.operation.details", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 100 + run, "gen_ai.usage.output_tokens": 20,
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": f"answer {run}"}]}]),
        }))
        records.append({"kind": "gen_ai.client.inference.operation.details", "tokens_prompt": 100 + run, **ids})
        app_log.warning("retrying the model call, attempt %d", run, extra={"retry.attempt": run})
        records.append({"kind": "log", "body": f"retrying the model call, attempt {run}", **ids})

tracer_provider.force_flush()
tracer_provider.shutdown()
logger_provider.force_flush()
logger_provider.shutdown()
print(json.dumps({"ok": bool(recording.results) and all(r == LogRecordExportResult.SUCCESS for r in recording.results), "records": records}))

// Lint Cypher with Neo4j's parser and semantic analysis (no server needed).
// stdin: JSON {"schema": {...}, "queries": [{"name": ..., "text": ..., "params": [...]}]}
// stdout: JSON [{"name": ..., "diagnostics": [{"severity", "message", "line", "column"}]}]
'use strict';
const { lintCypherQuery } = require('@neo4j-cypher/language-support');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const { schema, queries } = JSON.parse(input);
  const out = queries.map((q) => {
    const parameters = {};
    for (const p of q.params || []) parameters[p] = null;
    const dbSchema = { ...schema, parameters };
    const res = lintCypherQuery(q.text, dbSchema);
    const diagnostics = (res.diagnostics || []).map((d) => ({
      severity: d.severity === 1 ? 'error' : d.severity === 2 ? 'warning' : 'info',
      message: d.message,
      line: d.range.start.line + 1,
      column: d.range.start.character + 1,
    }));
    return { name: q.name, diagnostics };
  });
  process.stdout.write(JSON.stringify(out));
});

"""Measured answer quality of the SQL agent: ``venn sql eval``.

A golden set of questions over the DuckDB demo warehouse (:mod:`.golden`, the data in
``golden.toml``), each with the SQL of its right answer or the expectation that the
agent refuses it, is run through the real agent (:mod:`.harness`), scored by comparing
result sets (:mod:`.compare`) and reported as progress lines, totals, a JSON file and
a chart (:mod:`.report`). :mod:`.command` is the command line; :mod:`.with_knowledge`
is the one place that talks to the knowledge layer. See docs/sql-agent.md,
"Measuring answer quality".
"""

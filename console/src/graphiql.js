// GraphiQL on local assets. Queries go to this origin's /graphql; the key the user signed in
// with on the console (this tab's session) is sent as the Bearer header, else GraphiQL's
// Headers tab takes one.
(function start() {
  const key = sessionStorage.getItem("console.key");
  const fetcher = GraphiQL.createFetcher({ url: "/graphql",
    headers: key ? { Authorization: `Bearer ${key}` } : {} });
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true,
    defaultQuery: "{ ledger { position projections { name lag } } }" }));
}());

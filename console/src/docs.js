// Swagger UI on local assets, reading this origin's /openapi.json. The validator badge (which
// would call validator.swagger.io) is off: nothing leaves for another origin.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null,
  deepLinking: true, presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout" });

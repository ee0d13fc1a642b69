using System.ComponentModel;
using Iwrs.Functions.Errors;
using Iwrs.Functions.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;

namespace Iwrs.Functions.Features;

/// <summary>The API's own description, and the problem answer for a route nobody serves.</summary>
public sealed class ApiFunctions
{
    private static readonly Lazy<string> Document = new(() => OpenApiDocument.Build(FunctionCatalog.All).ToJsonString());

    /// <summary>Route templates of every other HTTP function, to tell a wrong method (405) from an unknown path (404).</summary>
    private static readonly Lazy<IReadOnlyList<(TemplateMatcher Matcher, IReadOnlyList<string> Methods)>> Routes = new(() =>
        [.. FunctionCatalog.HttpFunctions.Where(f => f.Name != nameof(NotFound))
            .Select(f => (new TemplateMatcher(TemplateParser.Parse(f.Route), new RouteValueDictionary()), f.HttpMethods))]);

    [Function("OpenApi")]
    [AllowAnonymous]
    [Description("This document.")]
    public IResult OpenApi([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi/v1.json")] HttpRequest req, CancellationToken ct) =>
        TypedResults.Text(Document.Value, "application/json");

    /// <summary>The lowest-precedence route: whatever no other function serves answers here with a problem.</summary>
    [Function(nameof(NotFound))]
    [AllowAnonymous]
    public IResult NotFound([HttpTrigger(AuthorizationLevel.Anonymous, Route = "{*path}")] HttpRequest req, string? path, CancellationToken ct)
    {
        var values = new RouteValueDictionary();
        var known = Routes.Value.Where(r => r.Matcher.TryMatch("/" + (path ?? string.Empty), values)).ToList();
        if (known.Count > 0 && !known.Any(r => r.Methods.Contains(req.Method, StringComparer.OrdinalIgnoreCase)))
        {
            req.HttpContext.Response.Headers.Allow = string.Join(", ", known.SelectMany(r => r.Methods).Distinct());
            return Problems.Create(405, "method-not-allowed", Problems.Title(405) + ".");
        }

        return Problems.Create(404, "not-found", Problems.Title(404) + ".");
    }
}

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Iwrs.Functions.Hosting;

/// <summary>
/// The OpenAPI 3.1 document of the HTTP functions, built from their attributes (<see cref="FunctionCatalog"/>), so
/// it describes the same routes under the Functions host and in the local host.
/// </summary>
public static partial class OpenApiDocument
{
    [GeneratedRegex("\\{([^}:*]+)[^}]*\\}")]
    private static partial Regex RouteParameter();

    public static JsonObject Build(IEnumerable<FunctionDescriptor> functions)
    {
        var paths = new JsonObject();
        foreach (var function in functions.Where(f => f.Http is not null && !f.Route.Contains('*', StringComparison.Ordinal)).OrderBy(f => f.Route, StringComparer.Ordinal))
        {
            var path = "/" + FunctionCatalog.RoutePrefix + "/" + function.Route;
            if (paths[path] is not JsonObject item)
            {
                paths[path] = item = [];
            }

            var parameters = new JsonArray();
            foreach (Match m in RouteParameter().Matches(function.Route))
            {
                parameters.Add(new JsonObject
                {
                    ["name"] = m.Groups[1].Value,
                    ["in"] = "path",
                    ["required"] = true,
                    ["schema"] = new JsonObject { ["type"] = "string" },
                });
            }

            foreach (var method in function.HttpMethods)
            {
                var operation = new JsonObject
                {
                    ["operationId"] = function.HttpMethods.Count == 1 ? function.Name : function.Name + method[0] + method[1..].ToLowerInvariant(),
                    ["summary"] = function.Summary,
                    ["parameters"] = parameters.DeepClone(),
                    ["responses"] = new JsonObject
                    {
                        ["default"] = new JsonObject
                        {
                            ["description"] = "The result, or an RFC 9457 problem with a stable 'code'.",
                        },
                    },
                };
                if (!function.AllowsAnonymous)
                {
                    operation["security"] = new JsonArray(new JsonObject { ["bearer"] = new JsonArray() });
                }

                item[method.ToLowerInvariant()] = operation;
            }
        }

        return new JsonObject
        {
            ["openapi"] = "3.1.1",
            ["info"] = new JsonObject
            {
                ["title"] = "Iwrs API",
                ["version"] = "v1",
                ["description"] = "Randomization, kit assignment, supply and emergency unblinding for clinical trials. Errors are RFC 9457 problem details with a stable 'code'.",
            },
            ["paths"] = paths,
            ["components"] = new JsonObject
            {
                ["securitySchemes"] = new JsonObject
                {
                    ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["bearerFormat"] = "JWT" },
                },
            },
        };
    }
}

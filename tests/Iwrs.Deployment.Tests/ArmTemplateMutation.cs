using System.Text.Json.Nodes;

namespace Iwrs.Deployment.Tests;

/// <summary>Edits of the compiled main.json: what a template change that drops a setting or a role assignment compiles to.</summary>
public static class ArmTemplateMutation
{
    /// <summary>Every resource declaration in the template and its nested module templates, with its symbolic name.</summary>
    public static IEnumerable<(JsonObject Resources, string Symbol, JsonObject Resource)> Resources(JsonNode template)
    {
        if (template is JsonObject o)
        {
            if (o["resources"] is JsonObject resources)
            {
                foreach (var (symbol, resource) in resources.ToList())
                {
                    yield return (resources, symbol, resource!.AsObject());
                }
            }

            foreach (var (_, child) in o.ToList())
            {
                if (child is not null)
                {
                    foreach (var r in Resources(child))
                    {
                        yield return r;
                    }
                }
            }
        }
    }

    public static JsonObject AppSettings(JsonObject template) =>
        Resources(template).Single(r => (string?)r.Resource["type"] == "Microsoft.Web/sites/config").Resource;

    /// <summary>Removes one app setting: the name and its value from the settings' createObject(...) expression.</summary>
    public static JsonObject WithoutSetting(JsonObject template, string name)
    {
        var copy = template.DeepClone().AsObject();
        var settings = AppSettings(copy);
        var expression = (string)settings["properties"]!;
        var key = $"'{name}', ";
        var start = expression.IndexOf(key, StringComparison.Ordinal);
        Assert.True(start >= 0, $"{name} is not in {expression}");
        var end = EndOfArgument(expression, start + key.Length);
        // The pair and the comma that follows it (or precedes it, for the last pair).
        expression = expression[end] == ','
            ? expression.Remove(start, end + 2 - start)
            : expression.Remove(start - 2, end - start + 2);
        settings["properties"] = expression;
        return copy;
    }

    /// <summary>Replaces the value of one app setting with a literal.</summary>
    public static JsonObject WithSetting(JsonObject template, string name, string literal)
    {
        var copy = template.DeepClone().AsObject();
        var settings = AppSettings(copy);
        var expression = (string)settings["properties"]!;
        var key = $"'{name}', ";
        var start = expression.IndexOf(key, StringComparison.Ordinal) + key.Length;
        Assert.True(start >= key.Length, $"{name} is not in {expression}");
        var end = EndOfArgument(expression, start);
        settings["properties"] = expression[..start] + "'" + literal.Replace("'", "''", StringComparison.Ordinal) + "'" + expression[end..];
        return copy;
    }

    /// <summary>Removes the role assignment whose role definition is the variable <paramref name="roleVariable"/>, and every dependency on it.</summary>
    public static JsonObject WithoutRoleAssignment(JsonObject template, string roleVariable)
    {
        var copy = template.DeepClone().AsObject();
        var (resources, symbol, _) = RoleAssignment(copy, roleVariable);
        resources.Remove(symbol);
        foreach (var (_, _, resource) in Resources(copy))
        {
            if (resource["dependsOn"] is JsonArray dependsOn)
            {
                foreach (var d in dependsOn.Where(d => (string?)d == symbol).ToList())
                {
                    dependsOn.Remove(d);
                }
            }
        }

        return copy;
    }

    /// <summary>Moves the scope of one role assignment onto another resource (an ARM expression).</summary>
    public static JsonObject WithRoleScope(JsonObject template, string roleVariable, string scopeExpression)
    {
        var copy = template.DeepClone().AsObject();
        RoleAssignment(copy, roleVariable).Resource["scope"] = scopeExpression;
        return copy;
    }

    private static (JsonObject Resources, string Symbol, JsonObject Resource) RoleAssignment(JsonObject template, string roleVariable) =>
        Resources(template).Single(r => (string?)r.Resource["type"] == "Microsoft.Authorization/roleAssignments"
            && ((string?)r.Resource["properties"]?["roleDefinitionId"])?.Contains($"variables('roles').{roleVariable}", StringComparison.Ordinal) == true);

    /// <summary>Where the argument starting at <paramref name="start"/> ends: the comma or parenthesis closing it at depth 0.</summary>
    private static int EndOfArgument(string expression, int start)
    {
        var depth = 0;
        var quoted = false;
        for (var i = start; i < expression.Length; i++)
        {
            var c = expression[i];
            if (c == '\'')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '(')
            {
                depth++;
            }
            else if (!quoted && c == ')')
            {
                if (depth == 0)
                {
                    return i;
                }

                depth--;
            }
            else if (!quoted && c == ',' && depth == 0)
            {
                return i;
            }
        }

        throw new FormatException("unterminated argument");
    }
}

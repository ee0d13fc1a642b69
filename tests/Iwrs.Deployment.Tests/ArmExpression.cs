using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Iwrs.Deployment.Tests;

/// <summary>A value ARM only knows while deploying: <c>reference(resourceId).property</c>.</summary>
public sealed record RuntimeValue(string ResourceId, string Property);

/// <summary>
/// Evaluates what a Bicep snapshot leaves unevaluated in the predicted resources: <c>format</c>, <c>environment()</c>
/// (the public cloud) and <c>reference(id, version).property</c>, which stays a <see cref="RuntimeValue"/>. Anything
/// else is refused, so a template that starts using another function fails the contract test instead of passing it
/// unexamined.
/// </summary>
public static class ArmExpression
{
    /// <summary>environment() in the Azure public cloud (the properties the templates use).</summary>
    private static readonly JsonObject PublicCloud = new()
    {
        ["name"] = "AzureCloud",
        ["suffixes"] = new JsonObject { ["storage"] = "core.windows.net", ["keyvaultDns"] = ".vault.azure.net" },
        ["authentication"] = new JsonObject { ["loginEndpoint"] = "https://login.microsoftonline.com/" },
    };

    /// <summary>A JSON string value: a literal, or an expression in brackets; "[[" escapes a literal bracket.</summary>
    public static object Evaluate(string value)
    {
        if (!value.StartsWith('[') || !value.EndsWith(']') || value.StartsWith("[[", StringComparison.Ordinal))
        {
            return value.StartsWith("[[", StringComparison.Ordinal) ? value[1..] : value;
        }

        var parser = new Parser(value[1..^1]);
        var result = parser.Expression();
        parser.End();
        return result;
    }

    /// <summary>The value as the app would read it, with each runtime value replaced by <paramref name="runtime"/>.</summary>
    public static string AsText(object value, Func<RuntimeValue, string> runtime) => value switch
    {
        string s => s,
        RuntimeValue r => runtime(r),
        FormatResult f => string.Concat(f.Parts.Select(p => AsText(p, runtime))),
        JsonValue j => j.ToString(),
        _ => throw new InvalidOperationException($"not a text value: {value}"),
    };

    /// <summary>The runtime values a value is made of.</summary>
    public static IEnumerable<RuntimeValue> RuntimeValues(object value) => value switch
    {
        RuntimeValue r => [r],
        FormatResult f => f.Parts.SelectMany(RuntimeValues),
        _ => [],
    };

    /// <summary>format() over a runtime value: the pieces, kept apart until the runtime value is known.</summary>
    private sealed record FormatResult(IReadOnlyList<object> Parts);

    private sealed class Parser(string text)
    {
        private int _at;

        public object Expression()
        {
            var value = Primary();
            while (true)
            {
                Skip();
                if (Peek('.'))
                {
                    _at++;
                    value = Member(value, Identifier());
                }
                else if (Peek('['))
                {
                    _at++;
                    var index = Expression();
                    Expect(']');
                    value = Member(value, AsKey(index));
                }
                else
                {
                    return value;
                }
            }
        }

        public void End()
        {
            Skip();
            if (_at != text.Length)
            {
                throw new FormatException($"unexpected '{text[_at..]}' in [{text}]");
            }
        }

        private object Primary()
        {
            Skip();
            if (Peek('\''))
            {
                return StringLiteral();
            }

            if (_at < text.Length && (char.IsAsciiDigit(text[_at]) || text[_at] == '-'))
            {
                var start = _at++;
                while (_at < text.Length && char.IsAsciiDigit(text[_at]))
                {
                    _at++;
                }

                return JsonValue.Create(long.Parse(text[start.._at], CultureInfo.InvariantCulture));
            }

            var name = Identifier();
            Expect('(');
            var arguments = new List<object>();
            Skip();
            if (!Peek(')'))
            {
                do
                {
                    arguments.Add(Expression());
                    Skip();
                }
                while (TryTake(','));
            }

            Expect(')');
            return Call(name, arguments);
        }

        private static object Call(string name, List<object> arguments) => name.ToLowerInvariant() switch
        {
            "format" => Format(arguments),
            "environment" => PublicCloud,
            "reference" => new ReferenceTarget(AsKey(arguments[0])),
            "concat" => new FormatResult(arguments),
            _ => throw new NotSupportedException($"ARM function {name}() is not evaluated by the contract test"),
        };

        private static FormatResult Format(List<object> arguments)
        {
            var pattern = AsKey(arguments[0]);
            var parts = new List<object>();
            var literal = new StringBuilder();
            for (var i = 0; i < pattern.Length; i++)
            {
                if (pattern[i] == '{' && i + 1 < pattern.Length && char.IsAsciiDigit(pattern[i + 1]))
                {
                    var close = pattern.IndexOf('}', i);
                    var index = int.Parse(pattern[(i + 1)..close], CultureInfo.InvariantCulture);
                    parts.Add(literal.ToString());
                    literal.Clear();
                    parts.Add(arguments[index + 1]);
                    i = close;
                }
                else
                {
                    literal.Append(pattern[i]);
                }
            }

            parts.Add(literal.ToString());
            return new FormatResult(parts);
        }

        private static object Member(object target, string name) => target switch
        {
            ReferenceTarget r => new RuntimeValue(r.ResourceId, name),
            JsonObject o when o[name] is JsonObject child => child,
            JsonObject o when o[name] is JsonValue v => v.GetValue<string>(),
            _ => throw new NotSupportedException($"cannot read '{name}' of {target}"),
        };

        private static string AsKey(object value) => value as string ?? throw new NotSupportedException($"expected a literal, got {value}");

        private string StringLiteral()
        {
            Expect('\'');
            var s = new StringBuilder();
            while (true)
            {
                if (_at >= text.Length)
                {
                    throw new FormatException($"unterminated string in [{text}]");
                }

                if (text[_at] == '\'')
                {
                    if (_at + 1 < text.Length && text[_at + 1] == '\'')
                    {
                        s.Append('\'');
                        _at += 2;
                        continue;
                    }

                    _at++;
                    return s.ToString();
                }

                s.Append(text[_at++]);
            }
        }

        private string Identifier()
        {
            Skip();
            var start = _at;
            while (_at < text.Length && (char.IsAsciiLetterOrDigit(text[_at]) || text[_at] == '_'))
            {
                _at++;
            }

            return start == _at ? throw new FormatException($"expected a name at {_at} in [{text}]") : text[start.._at];
        }

        private void Skip()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at]))
            {
                _at++;
            }
        }

        private bool Peek(char c) => _at < text.Length && text[_at] == c;

        private bool TryTake(char c)
        {
            Skip();
            if (!Peek(c))
            {
                return false;
            }

            _at++;
            return true;
        }

        private void Expect(char c)
        {
            if (!TryTake(c))
            {
                throw new FormatException($"expected '{c}' at {_at} in [{text}]");
            }
        }
    }

    private sealed record ReferenceTarget(string ResourceId);
}

using System.Globalization;
using Iwrs.Domain;

namespace Iwrs.Functions.Hosting;

/// <summary>Optional query parameters, read the same way under the Functions host and the local host.</summary>
public static class RequestQuery
{
    public static string? String(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var value) && value.Count > 0 ? value.ToString() : null;

    /// <summary>An optional whole number; anything else is a validation problem naming the parameter.</summary>
    public static Result<int?> Int(HttpRequest request, string name) =>
        String(request, name) switch
        {
            null => Result<int?>.Ok(null),
            var s when int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) => Result<int?>.Ok(n),
            _ => Result<int?>.Fail(DomainError.Validation([new FieldError(name, "must be a whole number.")])),
        };
}

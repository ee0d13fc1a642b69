using Iwrs.Domain;

namespace Iwrs.Functions.Features;

/// <summary>The body of an action that must say why (discontinuation, emergency unblinding).</summary>
public sealed record ReasonRequest(string? Reason)
{
    /// <summary>The refusal for a missing or overlong reason; null when the reason will do.</summary>
    public DomainError? Check() =>
        string.IsNullOrWhiteSpace(Reason) || Reason.Length > 1000
            ? DomainError.Validation([new FieldError("reason", "is required (at most 1000 characters).")])
            : null;
}

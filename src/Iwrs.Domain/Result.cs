namespace Iwrs.Domain;

/// <summary>
/// An expected failure, as a value: a stable machine code (it becomes the problem-details <c>code</c>),
/// a human sentence, and, for validation, every field that is wrong. Exceptions stay for programming errors.
/// </summary>
public sealed record DomainError(string Code, string Message, IReadOnlyList<FieldError>? Errors = null)
{
    public static DomainError Validation(IReadOnlyList<FieldError> errors, string message = "The request is not valid.") =>
        new("validation-failed", message, errors);
}

/// <summary>One invalid field: a JSON-style path (<c>arms[1].kitType</c>) and why it is invalid.</summary>
public sealed record FieldError(string Field, string Reason);

/// <summary>Either a value or the reason there is none.</summary>
public readonly struct Result<T>
{
    private readonly T? _value;

    private Result(T value)
    {
        _value = value;
        Error = null;
    }

    private Result(DomainError error)
    {
        _value = default;
        Error = error;
    }

    public DomainError? Error { get; }

    public bool IsSuccess => Error is null;

    public T Value => Error is null ? _value! : throw new InvalidOperationException($"No value: {Error.Code}");

    public static Result<T> Ok(T value) => new(value);

    public static Result<T> Fail(DomainError error) => new(error);

    public static implicit operator Result<T>(T value) => Ok(value);

    public static implicit operator Result<T>(DomainError error) => Fail(error);
}

namespace Iwrs.Domain.Tests;

public sealed class ResultTests
{
    [Fact]
    public void Value_Failure_ThrowsNamingCode()
    {
        Result<int> result = new DomainError("no-kit-available", "None left.");

        Assert.False(result.IsSuccess);
        var e = Assert.Throws<InvalidOperationException>(() => result.Value);
        Assert.Contains("no-kit-available", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Value_Success_ReturnsValueWithoutError()
    {
        Result<string> result = "kit-7";

        Assert.True(result.IsSuccess);
        Assert.Null(result.Error);
        Assert.Equal("kit-7", result.Value);
    }

    [Fact]
    public void Default_Result_IsSuccessWithDefaultValue()
    {
        var result = default(Result<int>);

        Assert.True(result.IsSuccess);
        Assert.Equal(0, result.Value);
    }

    [Fact]
    public void Validation_Errors_CodeValidationFailedWithEveryField()
    {
        var error = DomainError.Validation([new FieldError("a", "x"), new FieldError("b[0].c", "y")]);

        Assert.Equal("validation-failed", error.Code);
        Assert.Equal("The request is not valid.", error.Message);
        Assert.Equal(["a", "b[0].c"], error.Errors!.Select(e => e.Field));
    }
}

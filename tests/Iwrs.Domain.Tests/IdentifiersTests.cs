namespace Iwrs.Domain.Tests;

public sealed class IdentifiersTests
{
    [Theory]
    [InlineData("A")]
    [InlineData("LJ-MCRC")]
    [InlineData("site_01.b")]
    [InlineData("0")]
    public void IsValid_AllowedCharacters_True(string value)
    {
        Assert.True(Identifiers.IsValid(value));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("a b")]
    [InlineData("a|b")]
    [InlineData("a\u007fb")]
    [InlineData("a\nb")]
    [InlineData("é")]
    [InlineData("\uff21")]
    [InlineData("\u0661")]
    public void IsValid_ForbiddenCharactersOrEmpty_False(string? value)
    {
        Assert.False(Identifiers.IsValid(value));
    }

    [Fact]
    public void IsValid_Length_AtMostMaximum()
    {
        Assert.Equal(64, Identifiers.MaxLength);
        Assert.True(Identifiers.IsValid(new string('a', 64)));
        Assert.False(Identifiers.IsValid(new string('a', 65)));
        Assert.True(Identifiers.IsValid(new string('a', 128), 128));
        Assert.False(Identifiers.IsValid(new string('a', 129), 128));
        Assert.False(Identifiers.IsValid("abc", 2));
    }
}

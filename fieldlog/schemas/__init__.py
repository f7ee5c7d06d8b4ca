"""Marshmallow schemas for every JSON in and out of the API, fields listed explicitly."""

"""Detention casework tracker."""
